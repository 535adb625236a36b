package osfile_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/osfile"
)

// WillNeed advises regular files only: a FIFO in a file's place is not
// waited on, and a link, a directory or a missing file is left alone.
func TestWillNeedAdvisesRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.bin")
	if err := os.WriteFile(file, make([]byte, 1<<16), 0o600); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want bool
	}{{file, true}, {fifo, false}, {link, false}, {dir, false}, {filepath.Join(dir, "gone"), false}} {
		if got := osfile.WillNeed(c.path); got != c.want {
			t.Errorf("WillNeed(%s) = %v, want %v", filepath.Base(c.path), got, c.want)
		}
	}
}
