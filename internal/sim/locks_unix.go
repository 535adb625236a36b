//go:build unix

package sim

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// errHeld says a lock is held by another process.
var errHeld = errors.New("held by another process (is a server running on this root?)")

// flockExclusive takes a non-blocking exclusive flock on f.
func flockExclusive(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errHeld
	}
	return err
}

// funlock releases the flock on f.
func funlock(f *os.File) error {
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}
