//go:build !unix

package osfile

import "os"

// Open opens path for reading: os.Open.
func Open(path string) (*os.File, error) { return os.Open(path) }

// OpenFile is os.OpenFile.
func OpenFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(path, flag, perm)
}
