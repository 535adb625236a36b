package storage

import (
	"context"
	"fmt"
	"os"
)

// FileStager is implemented by backends that can take an object staged in a
// local file more cheaply than by copying it, as the local backend does by
// renaming the file into place. Writers of large objects (packs) stage them
// in a file either way, so their memory does not grow with the object size.
type FileStager interface {
	// StageFile creates an empty temporary file for an object.
	StageFile() (*os.File, error)
	// PutStaged stores the staged file f under name, atomically, as Put
	// would, and takes the file over: it is closed and gone afterwards,
	// whether PutStaged succeeds or not.
	PutStaged(ctx context.Context, name string, f *os.File) error
}

// StageFile creates a temporary file for an object to be stored on b: the
// backend's own when it is a FileStager, else one in the system's
// temporary directory.
func StageFile(b Backend) (*os.File, error) {
	if s, ok := b.(FileStager); ok {
		return s.StageFile()
	}
	f, err := os.CreateTemp("", "banyan-backup-stage-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create a temporary file: %w", err)
	}
	return f, nil
}

// PutStaged stores a file made by StageFile under name and removes it.
func PutStaged(ctx context.Context, b Backend, name string, f *os.File) error {
	if s, ok := b.(FileStager); ok {
		return s.PutStaged(ctx, name, f)
	}
	defer func() {
		f.Close()
		os.Remove(f.Name())
	}()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read staged %s: %w", name, err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		return fmt.Errorf("cannot read staged %s: %w", name, err)
	}
	return b.Put(ctx, name, st.Size(), f)
}

// DiscardStaged removes a staged file that will not be stored.
func DiscardStaged(f *os.File) {
	f.Close()
	os.Remove(f.Name())
}
