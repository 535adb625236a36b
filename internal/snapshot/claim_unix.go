//go:build unix

package snapshot

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// lockClaim takes an exclusive flock on a claim file just created. The
// kernel drops it when the process ends, however it ends.
func lockClaim(f *os.File) error {
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("cannot lock %s: %w", f.Name(), err)
	}
	return nil
}

// tryLockClaim reports whether no one holds the claim file's lock, taking
// it when free (it goes with f's closing).
func tryLockClaim(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EWOULDBLOCK):
		return false, nil
	}
	return false, fmt.Errorf("cannot lock %s: %w", f.Name(), err)
}
