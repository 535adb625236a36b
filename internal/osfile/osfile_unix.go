//go:build unix

package osfile

import (
	"errors"
	"os"
	"syscall"
)

// Open opens path for reading, like os.Open.
func Open(path string) (*os.File, error) {
	return OpenFile(path, os.O_RDONLY, 0)
}

// OpenFile opens path like os.OpenFile, for a regular file: flag is a
// combination of the os.O_ flags and syscall.O_NOFOLLOW, perm the
// permission bits of a file it creates.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if !errors.Is(err, syscall.EINTR) {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
}
