//go:build !unix

package storage

import (
	"errors"
	"fmt"
	"os"
)

// unname keeps the name: outside Unix an open file's name cannot always be
// removed.
func unname(*os.File) {}

// Nameless reports whether the staged file f has no name left: never,
// outside Unix.
func Nameless(*os.File) bool { return false }

// DupStaged cannot duplicate a descriptor outside Unix.
func DupStaged(f *os.File) (*os.File, error) {
	return nil, fmt.Errorf("cannot duplicate staged %s: %w", f.Name(), errors.ErrUnsupported)
}
