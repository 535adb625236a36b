//go:build linux

package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

// fastDir is a temporary directory on a tmpfs where one can be mounted
// (as root), else on the disk: restores sync their filesystem, which a
// tmpfs does at once.
func fastDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1g,mode=0755"); err == nil {
		t.Cleanup(func() { _ = unix.Unmount(dir, unix.MNT_DETACH) })
	}
	return dir
}
