//go:build unix

package restore

import "syscall"

// noFollow makes opening a file fail when the last element of its path is
// a symbolic link.
const noFollow = syscall.O_NOFOLLOW
