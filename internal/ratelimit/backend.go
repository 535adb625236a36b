package ratelimit

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Backend wraps a storage.Backend so that bytes stored (Put, Create,
// PutStaged) pass the upload limiter and bytes read (Get) the download
// limiter. Either may be nil.
type Backend struct {
	be       storage.Backend
	up, down *Limiter
}

// WrapBackend returns be limited by up and down; be itself when both are nil.
func WrapBackend(be storage.Backend, up, down *Limiter) storage.Backend {
	if up == nil && down == nil {
		return be
	}
	return &Backend{be: be, up: up, down: down}
}

// Location implements storage.Backend.
func (b *Backend) Location() string { return b.be.Location() }

// Put implements storage.Backend. The wrapped backend reads r through the
// limiter, so it does not see r's own methods (such as io.Seeker).
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.be.Put(ctx, name, size, b.up.Reader(ctx, r))
}

// Create implements storage.Backend, as Put.
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.be.Create(ctx, name, size, b.up.Reader(ctx, r))
}

// Get implements storage.Backend.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	rc, err := b.be.Get(ctx, name, offset, length)
	if err != nil || b.down == nil {
		return rc, err
	}
	return readCloser{Reader: b.down.Reader(ctx, rc), Closer: rc}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	return b.be.Stat(ctx, name)
}

// List implements storage.Backend.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	return b.be.List(ctx, prefix, fn)
}

// Delete implements storage.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error { return b.be.Delete(ctx, name) }

// StageFile implements storage.Backend: the wrapped backend's staging.
func (b *Backend) StageFile() (*os.File, error) { return b.be.StageFile() }

// PutStaged implements storage.Backend. A staged object is paid for whole
// before it is stored (a local backend renames it into place, which reads
// nothing that a reader wrapper could throttle).
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	if b.up != nil {
		st, err := f.Stat()
		if err != nil {
			storage.DiscardStaged(f)
			return fmt.Errorf("cannot read staged %s: %w", name, err)
		}
		if err := b.up.WaitN(ctx, st.Size()); err != nil {
			storage.DiscardStaged(f)
			return fmt.Errorf("cannot write %s: %w", name, err)
		}
	}
	return b.be.PutStaged(ctx, name, f)
}

// Close implements storage.Backend.
func (b *Backend) Close() error { return b.be.Close() }
