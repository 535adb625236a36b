//go:build !unix

package banyandb

import (
	"errors"
	"os"
)

// probeLock cannot probe flock locks on this platform; it reports an error
// for every lock file that exists.
func probeLock(path string) (bool, error) {
	if _, err := os.Stat(path); err != nil {
		return false, err
	}
	return false, errors.New("cannot probe flock locks on this platform")
}
