//go:build !linux

package osfile

import "os"

// Direct is 0 where writes cannot bypass the page cache the way Linux's
// O_DIRECT does: callers never ask for them.
const Direct = 0

// DirectAlign is the alignment direct writes would keep.
const DirectAlign = 4096

// Aligned reports false: there are no direct writes to align for.
func Aligned([]byte) bool { return false }

// SetDirect does nothing.
func SetDirect(*os.File, bool) error { return nil }

// AlignedAt returns 0: there are no direct writes to align for.
func AlignedAt([]byte, int) int { return 0 }
