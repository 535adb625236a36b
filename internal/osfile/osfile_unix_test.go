//go:build unix

package osfile_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/osfile"
)

// O_NOFOLLOW is passed on: a symbolic link is refused, not followed.
func TestNoFollow(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	f, err := osfile.OpenFile(link, os.O_WRONLY|os.O_TRUNC|syscall.O_NOFOLLOW, 0)
	if err == nil {
		f.Close()
		t.Fatal("a symbolic link was opened through O_NOFOLLOW")
	}
	if !errors.Is(err, syscall.ELOOP) {
		t.Errorf("error %v, want ELOOP", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "x" {
		t.Errorf("the link's target was changed to %q", b)
	}
}

// The descriptor is close-on-exec, as os.OpenFile's are: a child process
// started meanwhile does not inherit it.
func TestCloseOnExec(t *testing.T) {
	f, err := osfile.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), syscall.F_GETFD, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if flags&syscall.FD_CLOEXEC == 0 {
		t.Error("the descriptor is not close-on-exec")
	}
}

// WillNeed advises regular files only: a FIFO in a file's place is not
// waited on, and a link, a directory or a missing file is left alone.
func TestWillNeedAdvisesRegularFilesOnly(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("WillNeed advises only on Linux")
	}
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
