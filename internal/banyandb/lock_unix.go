//go:build unix

package banyandb

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// probeLock tries a non-blocking exclusive flock on path and releases it at
// once. It reports whether another holder has the lock.
func probeLock(path string) (held bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	fd := int(f.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return true, nil
		}
		return false, err
	}
	return false, unix.Flock(fd, unix.LOCK_UN)
}
