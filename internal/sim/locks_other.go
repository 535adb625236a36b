//go:build !unix

package sim

import (
	"errors"
	"os"
)

// flockExclusive cannot take flock locks on this platform.
func flockExclusive(*os.File) error {
	return errors.New("flock is not supported on this platform")
}

// funlock does nothing on this platform.
func funlock(*os.File) error { return nil }
