package storage

import (
	"context"
	"fmt"
	"io"
	"os"
)

// StageTemp creates an empty file in the system's temporary directory: the
// StageFile of backends that have no cheaper place for a staged object.
func StageTemp() (*os.File, error) {
	f, err := os.CreateTemp("", "banyan-backup-stage-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create a temporary file: %w", err)
	}
	return f, nil
}

// PutFile stores the whole content of the staged file f under name with
// b.Put, then closes and removes f, whether the Put succeeded or not: the
// PutStaged of backends that store a file by reading it.
func PutFile(ctx context.Context, b Backend, name string, f *os.File) error {
	defer DiscardStaged(f)
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read staged %s: %w", name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("cannot read staged %s: %w", name, err)
	}
	return b.Put(ctx, name, st.Size(), f)
}

// DiscardStaged closes and removes a staged file that will not be stored.
func DiscardStaged(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}
