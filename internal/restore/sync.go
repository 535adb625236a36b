package restore

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// writeSynced writes a small file and fsyncs it.
func writeSynced(path string, data []byte) error {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("cannot sync %s: %w", path, err)
	}
	return fh.Close()
}

// syncDir fsyncs a directory so that renames in it are durable.
func syncDir(dir string) error {
	fh, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot sync directory %s: %w", dir, err)
	}
	defer fh.Close()
	if err := fh.Sync(); err != nil {
		return fmt.Errorf("cannot sync directory %s: %w", dir, err)
	}
	return nil
}

// syncFS flushes the whole filesystem holding dir: one call instead of an
// fsync per restored file.
func syncFS(dir string) error {
	fh, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	defer fh.Close()
	if err := unix.Syncfs(int(fh.Fd())); err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, err)
	}
	return nil
}
