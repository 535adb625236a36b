package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Get returns length bytes of the object starting at offset; length < 0
// means up to the end. A range past the end of the object is cut short at
// the end; an offset at or past the end yields an empty reader. The reader
// fails with ctx's error once ctx is done.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	p, err := b.path("read", name)
	if err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, fmt.Errorf("cannot read %s: negative offset %d", name, offset)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s in %s: %w", name, b.location, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, b.readErr(name, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err == nil && offset > 0 {
		_, err = f.Seek(offset, io.SeekStart)
	}
	if err != nil {
		_ = f.Close()
		return nil, b.readErr(name, err)
	}
	var r io.Reader = f
	if length >= 0 {
		r = io.LimitReader(f, length)
	}
	return &ctxReadCloser{ctx: ctx, r: r, c: f}, nil
}

// Stat returns the object's size.
func (b *Backend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	p, err := b.path("stat", name)
	if err != nil {
		return storage.ObjectInfo{}, err
	}
	if err := ctx.Err(); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("cannot stat %s in %s: %w", name, b.location, err)
	}
	fi, err := os.Stat(p)
	if err == nil && !fi.Mode().IsRegular() {
		err = fs.ErrNotExist
	}
	if err != nil {
		if isNotExist(err) {
			return storage.ObjectInfo{}, fmt.Errorf("cannot stat %s: %w", name, storage.ErrNotFound)
		}
		return storage.ObjectInfo{}, fmt.Errorf("cannot stat %s in %s: %w", name, b.location, err)
	}
	return storage.ObjectInfo{Name: name, Size: fi.Size()}, nil
}

// Delete removes the object and fsyncs its directory.
func (b *Backend) Delete(ctx context.Context, name string) error {
	p, err := b.path("delete", name)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot delete %s in %s: %w", name, b.location, err)
	}
	// Lstat first so that Delete never removes a (possibly empty) directory.
	fi, err := os.Lstat(p)
	if err == nil && fi.IsDir() {
		err = fs.ErrNotExist
	}
	if err == nil {
		err = os.Remove(p)
	}
	if err != nil {
		if isNotExist(err) {
			return fmt.Errorf("cannot delete %s: %w", name, storage.ErrNotFound)
		}
		return fmt.Errorf("cannot delete %s in %s: %w", name, b.location, err)
	}
	if err := syncDir(filepath.Dir(p)); err != nil {
		return fmt.Errorf("cannot delete %s in %s: %w", name, b.location, err)
	}
	return nil
}

// List calls fn for every object whose name starts with prefix. It walks
// only the directory named by prefix up to its last slash, skips temporary
// files, and lists nothing when that directory does not exist. Symbolic
// links below that directory are not followed.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := storage.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("cannot list %q: %w", prefix, err)
	}
	dir := prefix[:strings.LastIndex(prefix, "/")+1] // "" or ends in "/"
	// The trailing separator makes the walk follow the start directory
	// when it is a symbolic link, such as a repository root on another disk.
	start := filepath.Join(b.root, filepath.FromSlash(dir)) + string(filepath.Separator)
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if isNotExist(err) {
				// The start directory is missing, or an entry vanished
				// during the walk: nothing to list there.
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(start, p)
		if err != nil || rel == "." {
			return err
		}
		name := dir + filepath.ToSlash(rel)
		if d.IsDir() {
			if !strings.HasPrefix(name+"/", prefix) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), tmpPrefix) ||
			!strings.HasPrefix(name, prefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			if isNotExist(err) {
				return nil // deleted since the directory was read
			}
			return err
		}
		if err := fn(storage.ObjectInfo{Name: name, Size: fi.Size()}); err != nil {
			return callbackError{err}
		}
		return nil
	})
	var cbErr callbackError
	if errors.As(err, &cbErr) {
		return cbErr.err
	}
	if err != nil {
		return fmt.Errorf("cannot list %q in %s: %w", prefix, b.location, err)
	}
	return nil
}

// callbackError carries an error returned by List's fn through the walk
// unchanged, so that values like fs.SkipDir are not interpreted by it.
type callbackError struct{ err error }

func (e callbackError) Error() string { return e.err.Error() }

// readErr classifies an error from opening or positioning name's file.
func (b *Backend) readErr(name string, err error) error {
	if isNotExist(err) {
		return fmt.Errorf("cannot read %s: %w", name, storage.ErrNotFound)
	}
	return fmt.Errorf("cannot read %s in %s: %w", name, b.location, err)
}

// ctxReadCloser reads from r until ctx is done, and closes c.
type ctxReadCloser struct {
	ctx context.Context
	r   io.Reader
	c   io.Closer
}

func (rc *ctxReadCloser) Read(p []byte) (int, error) {
	if err := rc.ctx.Err(); err != nil {
		return 0, err
	}
	return rc.r.Read(p)
}

func (rc *ctxReadCloser) Close() error { return rc.c.Close() }

// isNotExist reports whether err means a path is missing, including a path
// whose parent is a regular file.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || isNotDir(err)
}
