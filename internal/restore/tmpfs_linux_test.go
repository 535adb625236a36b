//go:build linux

package restore_test

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// mountTmpfs mounts a new tmpfs on dir, an existing directory, until the
// test ends.
func mountTmpfs(t *testing.T, dir string) error {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1g,mode=0755"); err != nil {
		return err
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("cannot unmount %s: %v", dir, err)
		}
	})
	return nil
}

// needTmpfs mounts a tmpfs on dir, or skips the test where mounting is not
// allowed (not root). CI runs as root: there the test fails instead.
func needTmpfs(t *testing.T, dir string) {
	t.Helper()
	err := mountTmpfs(t, dir)
	switch {
	case err == nil:
	case os.Getenv("CI") == "true":
		t.Fatalf("cannot mount a tmpfs on %s (CI runs as root): %v", dir, err)
	default:
		t.Skipf("cannot mount a tmpfs on %s (%v): run the test as root to restore into a mount point", dir, err)
	}
}

// fastDir is a temporary directory on a tmpfs where one can be mounted,
// else on the disk: restores sync their filesystem, which a tmpfs does at
// once.
func fastDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	_ = mountTmpfs(t, dir)
	return dir
}
