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
	be storage.Backend
	n  atomic.Int64
}

func (c *countingBackend) Location() string { return c.be.Location() }

func (c *countingBackend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	err := c.be.Put(ctx, name, size, r)
	if err == nil {
		c.n.Add(size)
	}
	return err
}

func (c *countingBackend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	err := c.be.Create(ctx, name, size, r)
	if err == nil {
		c.n.Add(size)
	}
	return err
}

func (c *countingBackend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	return c.be.Get(ctx, name, offset, length)
}

func (c *countingBackend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	return c.be.Stat(ctx, name)
}

func (c *countingBackend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	return c.be.List(ctx, prefix, fn)
}

func (c *countingBackend) Delete(ctx context.Context, name string) error {
	return c.be.Delete(ctx, name)
}

func (c *countingBackend) StageFile() (*os.File, error) { return c.be.StageFile() }

func (c *countingBackend) PutStaged(ctx context.Context, name string, f *os.File) error {
	var size int64
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	err := c.be.PutStaged(ctx, name, f)
	if err == nil {
		c.n.Add(size)
	}
	return err
}

func (c *countingBackend) Close() error { return c.be.Close() }
