// Package mem implements storage.Backend in memory, for tests. It keeps the
// same contract as the local backend, including short reads for ranges past
// the end of an object, and loses everything when the process exits.
package mem

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// maxPrealloc bounds the buffer reserved up front for a Put, so that a
// wrong size does not allocate a huge buffer before any data arrives.
const maxPrealloc = 64 << 20

// Backend is an in-memory storage.Backend. It is safe for concurrent use.
type Backend struct {
	location string

	mu      sync.Mutex
	objects map[string][]byte // values are never modified once stored
}

var _ storage.Backend = (*Backend)(nil)

// New returns an empty Backend whose Location is "mem://" + name.
func New(name string) *Backend {
	return &Backend{location: "mem://" + name, objects: make(map[string][]byte)}
}

// Location returns "mem://" followed by the name given to New.
func (b *Backend) Location() string { return b.location }

// Close does nothing; the objects stay readable.
func (b *Backend) Close() error { return nil }

// Put stores size bytes from r under name, replacing any previous object.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	data, err := b.read(ctx, "write", name, size, r)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.objects[name] = data
	return nil
}

// Create is Put that fails with an error wrapping storage.ErrExists when
// name is taken.
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	data, err := b.read(ctx, "create", name, size, r)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[name]; ok {
		return fmt.Errorf("cannot create %s: %w", name, storage.ErrExists)
	}
	b.objects[name] = data
	return nil
}

// read checks name and reads exactly size bytes from r.
func (b *Backend) read(ctx context.Context, verb, name string, size int64, r io.Reader) ([]byte, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, fmt.Errorf("cannot %s %q: %w", verb, name, err)
	}
	var buf bytes.Buffer
	buf.Grow(int(max(0, min(size, maxPrealloc))))
	if err := storage.CopyExact(ctx, &buf, r, size); err != nil {
		if errors.Is(err, storage.ErrShortInput) || errors.Is(err, storage.ErrLongInput) {
			return nil, fmt.Errorf("cannot write %s: %w", name, err)
		}
		return nil, fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	return buf.Bytes(), nil
}

// Get returns length bytes of the object starting at offset; length < 0
// means up to the end. A range past the end of the object is cut short at
// the end; an offset at or past the end yields an empty reader.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	if err := storage.CheckName(name); err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", name, err)
	}
	if offset < 0 {
		return nil, fmt.Errorf("cannot read %s: negative offset %d", name, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s in %s: %w", name, b.location, err)
	}
	b.mu.Lock()
	data, ok := b.objects[name]
	b.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("cannot read %s: %w", name, storage.ErrNotFound)
	}
	data = data[min(offset, int64(len(data))):]
	if length >= 0 && length < int64(len(data)) {
		data = data[:length]
	}
	return &ctxReader{ctx: ctx, r: bytes.NewReader(data)}, nil
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	if err := storage.CheckName(name); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("cannot stat %q: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("cannot stat %s in %s: %w", name, b.location, err)
	}
	b.mu.Lock()
	data, ok := b.objects[name]
	b.mu.Unlock()
	if !ok {
		return storage.ObjectInfo{}, fmt.Errorf("cannot stat %s: %w", name, storage.ErrNotFound)
	}
	return storage.ObjectInfo{Name: name, Size: int64(len(data))}, nil
}

// List calls fn for every object whose name starts with prefix, outside the
// lock, so fn may use the backend.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := storage.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("cannot list %q: %w", prefix, err)
	}
	var infos []storage.ObjectInfo
	b.mu.Lock()
	for name, data := range b.objects {
		if strings.HasPrefix(name, prefix) {
			infos = append(infos, storage.ObjectInfo{Name: name, Size: int64(len(data))})
		}
	}
	b.mu.Unlock()
	// In name order, as the object stores list: a caller that lists twice
	// sees one order.
	slices.SortFunc(infos, func(a, b storage.ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	for _, info := range infos {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cannot list %q in %s: %w", prefix, b.location, err)
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the object.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := storage.CheckName(name); err != nil {
		return fmt.Errorf("cannot delete %q: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot delete %s in %s: %w", name, b.location, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.objects[name]; !ok {
		return fmt.Errorf("cannot delete %s: %w", name, storage.ErrNotFound)
	}
	delete(b.objects, name)
	return nil
}

// ctxReader reads from r until ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r *ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

func (r *ctxReader) Close() error { return nil }

// StageFile creates a file in the system's temporary directory.
func (b *Backend) StageFile() (*os.File, error) { return storage.StageTemp() }

// PutStaged stores the staged file's content with Put and removes the file.
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	return storage.PutFile(ctx, b, name, f)
}
