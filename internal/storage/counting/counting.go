// Package counting wraps a storage.Backend to count what passes through it:
// the bytes stored and read, and the operations asked for. The counters are
// atomic: callers read them with Counts while operations run.
package counting

import (
	"context"
	"io"
	"os"
	"sync/atomic"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Counts are the totals since the wrapper was made. Every call counts as an
// operation, failed ones included; bytes count only once stored or read.
type Counts struct {
	// Uploaded is the bytes of the objects stored by successful Put,
	// Create and PutStaged calls.
	Uploaded int64
	// Downloaded is the bytes read through the readers Get returned.
	Downloaded int64
	// Puts counts the Put, Create and PutStaged calls.
	Puts int64
	// Gets, Stats, Lists and Deletes count those calls.
	Gets, Stats, Lists, Deletes int64
}

// Backend is a storage.Backend that counts the use of another.
type Backend struct {
	be                                storage.Backend
	uploaded, downloaded              atomic.Int64
	puts, gets, stats, lists, deletes atomic.Int64
}

// Wrap returns be with counters at zero.
func Wrap(be storage.Backend) *Backend { return &Backend{be: be} }

// Counts returns the totals so far.
func (b *Backend) Counts() Counts {
	return Counts{
		Uploaded:   b.uploaded.Load(),
		Downloaded: b.downloaded.Load(),
		Puts:       b.puts.Load(),
		Gets:       b.gets.Load(),
		Stats:      b.stats.Load(),
		Lists:      b.lists.Load(),
		Deletes:    b.deletes.Load(),
	}
}

// Location implements storage.Backend.
func (b *Backend) Location() string { return b.be.Location() }

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	b.puts.Add(1)
	return b.stored(size, b.be.Put(ctx, name, size, r))
}

// Create implements storage.Backend.
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	b.puts.Add(1)
	return b.stored(size, b.be.Create(ctx, name, size, r))
}

// PutStaged implements storage.Backend. The object's size is the staged
// file's when PutStaged is called.
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	b.puts.Add(1)
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return b.stored(size, b.be.PutStaged(ctx, name, f))
}

func (b *Backend) stored(size int64, err error) error {
	if err == nil {
		b.uploaded.Add(size)
	}
	return err
}

// StageFile implements storage.Backend.
func (b *Backend) StageFile() (*os.File, error) { return b.be.StageFile() }

// Get implements storage.Backend.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	b.gets.Add(1)
	rc, err := b.be.Get(ctx, name, offset, length)
	if err != nil {
		return nil, err
	}
	return &reader{rc: rc, n: &b.downloaded}, nil
}

// reader counts the bytes read through it.
type reader struct {
	rc io.ReadCloser
	n  *atomic.Int64
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.n.Add(int64(n))
	return n, err
}

func (r *reader) Close() error { return r.rc.Close() }

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	b.stats.Add(1)
	return b.be.Stat(ctx, name)
}

// List implements storage.Backend.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	b.lists.Add(1)
	return b.be.List(ctx, prefix, fn)
}

// Delete implements storage.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	b.deletes.Add(1)
	return b.be.Delete(ctx, name)
}

// Close implements storage.Backend.
func (b *Backend) Close() error { return b.be.Close() }
