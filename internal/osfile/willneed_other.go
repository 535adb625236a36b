//go:build !linux

package osfile

// WillNeed does nothing where the kernel takes no read-ahead advice the
// way Linux's posix_fadvise does; it reports false.
func WillNeed(string) bool { return false }
