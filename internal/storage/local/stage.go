package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// StageFile creates a temporary file in the backend's root directory, on
// the same filesystem as every object, so PutStaged can rename it.
func (b *Backend) StageFile() (*os.File, error) {
	if err := b.mkdirs(b.root); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", b.location, err)
	}
	f, err := createTemp(b.root)
	if err != nil {
		return nil, fmt.Errorf("cannot create a temporary file in %s: %w", b.location, err)
	}
	return f, nil
}

// PutStaged fsyncs the staged file and renames it to name: the object is the
// staged file itself, never a copy.
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	p, err := b.path("write", name)
	if err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := b.mkdirs(filepath.Dir(p)); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	return nil
}
