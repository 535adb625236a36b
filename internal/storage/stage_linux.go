package storage

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// openNameless creates a file in dir that never has a name (O_TMPFILE),
// or returns nil where dir's file system cannot (the caller then names
// one and removes its name). The file's Name, dir/prefix, is only for
// messages.
func openNameless(dir, prefix string) *os.File {
	for {
		fd, err := unix.Open(dir, unix.O_RDWR|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil
		}
		return os.NewFile(uintptr(fd), filepath.Join(dir, prefix))
	}
}
