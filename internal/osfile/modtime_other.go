//go:build !linux

package osfile

import (
	"os"
	"time"
)

// SetModTime sets the access and modification times of the open file f to
// t (by its name where no descriptor call is used).
func SetModTime(f *os.File, t time.Time) error { return os.Chtimes(f.Name(), t, t) }
