package serve

import (
	"context"
	"io"
	"os"
	"sync/atomic"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

type storageInfo = storage.ObjectInfo

// countingBackend counts the bytes stored through it (bytes_uploaded_total).
type countingBackend struct {
	storage.Backend
	n atomic.Int64
}

func (c *countingBackend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	err := c.Backend.Put(ctx, name, size, r)
	if err == nil {
		c.n.Add(size)
	}
	return err
}

func (c *countingBackend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	err := c.Backend.Create(ctx, name, size, r)
	if err == nil {
		c.n.Add(size)
	}
	return err
}

// StageFile and PutStaged keep the wrapped backend's cheap staging.
func (c *countingBackend) StageFile() (*os.File, error) { return storage.StageFile(c.Backend) }

func (c *countingBackend) PutStaged(ctx context.Context, name string, f *os.File) error {
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	err := storage.PutStaged(ctx, c.Backend, name, f)
	if err == nil {
		c.n.Add(size)
	}
	return err
}
