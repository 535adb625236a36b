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
	storage.Backend
	up, down *Limiter
}

// WrapBackend returns be limited by up and down; be itself when both are nil.
func WrapBackend(be storage.Backend, up, down *Limiter) storage.Backend {
	if up == nil && down == nil {
		return be
	}
	return &Backend{Backend: be, up: up, down: down}
}

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.Backend.Put(ctx, name, size, b.up.Reader(ctx, r))
}

// Create implements storage.Backend.
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.Backend.Create(ctx, name, size, b.up.Reader(ctx, r))
}

// Get implements storage.Backend.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	rc, err := b.Backend.Get(ctx, name, offset, length)
	if err != nil || b.down == nil {
		return rc, err
	}
	return readCloser{Reader: b.down.Reader(ctx, rc), Closer: rc}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// StageFile implements storage.FileStager: the wrapped backend's staging.
func (b *Backend) StageFile() (*os.File, error) { return storage.StageFile(b.Backend) }

// PutStaged implements storage.FileStager. A staged pack is paid for whole
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
			return err
		}
	}
	return storage.PutStaged(ctx, b.Backend, name, f)
}
