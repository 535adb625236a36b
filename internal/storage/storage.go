// Package storage defines the small interface every repository backend
// implements (local disk, memory, and later object stores), and the errors
// that callers classify with errors.Is.
//
// The contract every backend must keep, checked by the conformance suite in
// storagetest:
//
//   - Names are slash-separated relative paths such as "data/ab/abcd…".
//     A backend never sees ".." or a leading slash.
//   - Put is atomic: a reader sees either the whole new object or the old state,
//     never a partial object, even when the process dies midway.
//   - Create is Put that fails with ErrExists, leaving the existing object
//     untouched, when the name is taken. Two concurrent Creates of one name:
//     exactly one succeeds.
//   - A successful Put, Create or PutStaged is durable and visible to Get, Stat and List.
//   - Get of a missing object, Stat of a missing object and Delete of a
//     missing object return an error that wraps ErrNotFound.
//   - List calls fn for every object whose name starts with prefix, in no
//     particular order; returning an error from fn stops the walk with it.
//   - StageFile gives an empty temporary file in which a writer of a large
//     object (a pack) writes it, so that its memory does not grow with the
//     object; PutStaged then stores the file's whole content as Put would,
//     atomically, and takes the file over: it is closed and removed whether
//     PutStaged succeeds or not. A backend stages where it can store the
//     file most cheaply (the local backend in its own directory, to rename
//     the file into place); one without a cheaper way uses StageTemp and
//     PutFile. A staged file that will not be stored is removed with
//     DiscardStaged. A staged file may have no name: StageTemp's has none
//     on Unix (it is removed as soon as it is created, so a killed process
//     leaves nothing behind), and is read through its descriptor only; its
//     Name is then only for messages, and PutStaged or DiscardStaged
//     removes it by closing it. Wrappers must not rely on the name (retry
//     duplicates the descriptor of a nameless file; see Nameless).
//
// A wrapper (retry, rate limits, counting, fault injection) implements every
// method itself and never embeds the Backend it wraps, so that a method
// added to the interface cannot silently bypass it.
package storage

import (
	"context"
	"errors"
	"io"
	"os"
)

// ErrNotFound is wrapped by every error about an object that does not exist.
var ErrNotFound = errors.New("object not found")

// ErrExists is returned by Create when the name is already taken.
var ErrExists = errors.New("object already exists")

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Name string
	Size int64
}

// Backend stores named, immutable-once-written objects.
type Backend interface {
	// Location names the backend for messages, e.g. "file:///srv/repo".
	Location() string
	// Put stores size bytes read from r under name, atomically, replacing
	// any previous object of that name.
	Put(ctx context.Context, name string, size int64, r io.Reader) error
	// Create is Put that fails with ErrExists when name already exists.
	Create(ctx context.Context, name string, size int64, r io.Reader) error
	// Get returns length bytes of the object starting at offset; length < 0
	// means up to the end. The caller closes the reader.
	Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error)
	// Stat returns the object's size.
	Stat(ctx context.Context, name string) (ObjectInfo, error)
	// List calls fn for every object whose name starts with prefix.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Delete removes the object.
	Delete(ctx context.Context, name string) error
	// StageFile creates an empty temporary file, open for reading and
	// writing, for an object to be stored with PutStaged. The file may
	// have no name left (see StageTemp).
	StageFile() (*os.File, error)
	// PutStaged stores the whole content of f, a file made by StageFile,
	// under name, atomically, replacing any previous object, as Put
	// would. It takes f over: f is closed and removed whether PutStaged
	// succeeds or not.
	PutStaged(ctx context.Context, name string, f *os.File) error
	// Close releases the backend's resources.
	Close() error
}

// ReadAll reads a whole object.
func ReadAll(ctx context.Context, b Backend, name string) ([]byte, error) {
	rc, err := b.Get(ctx, name, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}
