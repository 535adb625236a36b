package osfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/osfile"
)

// A file created, written, reopened and read back through osfile keeps
// its content and the permission bits it was created with; a missing file
// fails as os.Open does.
func TestCreateWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "part.bin")
	w, err := osfile.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteAt([]byte("block"), 3); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	r, err := osfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got := make([]byte, 16)
	n, _ := r.Read(got)
	if string(got[:n]) != "\x00\x00\x00block" {
		t.Errorf("read %q", got[:n])
	}
	if r.Name() != path {
		t.Errorf("name %q, want %q", r.Name(), path)
	}
	_, err = osfile.Open(filepath.Join(t.TempDir(), "absent"))
	var pe *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pe) || pe.Op != "open" {
		t.Errorf("opening a missing file: %v, want an open PathError that is fs.ErrNotExist", err)
	}
}
