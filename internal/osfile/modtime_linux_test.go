package osfile_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/osfile"
)

// SetModTime sets a file's time to the nanosecond through its descriptor,
// also on a file opened read-only, and the name plays no part: the file
// moved away keeps the time set after the move, and nothing appears at
// its old path.
func TestSetModTime(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "metadata.json")
	if err := os.WriteFile(path, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	fh, err := osfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	moved := filepath.Join(dir, "moved")
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 19, 8, 30, 1, 123456789, time.UTC)
	if err := osfile.SetModTime(fh, want); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(moved)
	if err != nil {
		t.Fatal(err)
	}
	if !st.ModTime().Equal(want) {
		t.Errorf("time %v, want %v", st.ModTime(), want)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old path: %v, want it absent", err)
	}
}
