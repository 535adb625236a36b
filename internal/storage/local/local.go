// Package local implements storage.Backend on a directory of the local
// filesystem.
//
// Objects are plain files below the root directory, named by their
// slash-separated object names. Writes go to a temporary file (".tmp-" plus
// random hex) in the destination directory, are fsynced, and are then renamed
// (Put) or hard-linked (Create) into place, after which the directory is
// fsynced too; a crash therefore never leaves a partial object under its
// final name. Temporary files are never listed, and object names whose path
// elements start with ".tmp-" are rejected.
//
// Get of a range that extends past the end of an object returns the bytes
// that exist: a short read, not an error. An offset at or past the end gives
// an empty reader.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// tmpPrefix starts the name of every temporary file; List skips them.
const tmpPrefix = ".tmp-"

// Backend stores objects as files below a root directory. It is safe for
// concurrent use, also by several processes sharing the directory.
type Backend struct {
	root     string // absolute, cleaned
	location string
}

var _ storage.Backend = (*Backend)(nil)

// New returns a Backend on dir. The directory need not exist yet: Put and
// Create create it and any parent directories as needed.
func New(dir string) *Backend {
	root, err := filepath.Abs(dir)
	if err != nil {
		root = filepath.Clean(dir)
	}
	return &Backend{root: root, location: "file://" + filepath.ToSlash(root)}
}

// Location returns "file://" followed by the root's absolute path.
func (b *Backend) Location() string { return b.location }

// Close does nothing: the backend holds no resources between calls.
func (b *Backend) Close() error { return nil }

// Put stores size bytes from r under name, atomically replacing any previous
// object.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	p, err := b.path("write", name)
	if err != nil {
		return err
	}
	tmp, err := b.writeTemp(ctx, name, p, size, r)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, p); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	return nil
}

// Create is Put that fails with an error wrapping storage.ErrExists, leaving
// the existing object untouched, when name is taken. The new file is
// hard-linked into place, which fails atomically if the name exists, so the
// filesystem must support hard links.
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	p, err := b.path("create", name)
	if err != nil {
		return err
	}
	tmp, err := b.writeTemp(ctx, name, p, size, r)
	if err != nil {
		return err
	}
	linkErr := os.Link(tmp, p)
	rmErr := os.Remove(tmp)
	switch {
	case errors.Is(linkErr, fs.ErrExist):
		return fmt.Errorf("cannot create %s: %w", name, storage.ErrExists)
	case linkErr != nil:
		return fmt.Errorf("cannot create %s in %s: %w", name, b.location, linkErr)
	case rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist):
		return fmt.Errorf("cannot create %s in %s: %w", name, b.location, rmErr)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("cannot create %s in %s: %w", name, b.location, err)
	}
	return nil
}

// writeTemp writes exactly size bytes from r to a new, fsynced temporary
// file in final's directory and returns its path. On failure it removes the
// temporary file.
func (b *Backend) writeTemp(ctx context.Context, name, final string, size int64, r io.Reader) (tmp string, err error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	dir := filepath.Dir(final)
	if err := b.mkdirs(dir); err != nil {
		return "", fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	f, err := createTemp(dir)
	if err != nil {
		return "", fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := storage.CopyExact(ctx, f, r, size); err != nil {
		if errors.Is(err, storage.ErrShortInput) || errors.Is(err, storage.ErrLongInput) {
			return "", fmt.Errorf("cannot write %s: %w", name, err)
		}
		return "", fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	if err := f.Close(); err != nil { // the deferred Close is then a no-op
		return "", fmt.Errorf("cannot write %s in %s: %w", name, b.location, err)
	}
	return f.Name(), nil
}

// path checks name and returns its file path; verb names the operation in
// the error.
func (b *Backend) path(verb, name string) (string, error) {
	if err := storage.CheckName(name); err != nil {
		return "", fmt.Errorf("cannot %s %q: %w", verb, name, err)
	}
	for _, elem := range strings.Split(name, "/") {
		if strings.HasPrefix(elem, tmpPrefix) {
			return "", fmt.Errorf("cannot %s %q: %w: %q is reserved for temporary files",
				verb, name, storage.ErrInvalidName, tmpPrefix)
		}
	}
	return filepath.Join(b.root, filepath.FromSlash(path.Clean(name))), nil
}
