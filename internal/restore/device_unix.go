//go:build unix

package restore

import (
	"os"

	"golang.org/x/sys/unix"
)

// deviceOf returns the device of the filesystem holding path, following
// symbolic links.
func deviceOf(path string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return 0, &os.PathError{Op: "stat", Path: path, Err: err}
	}
	return uint64(st.Dev), nil // Dev is not a uint64 everywhere
}
