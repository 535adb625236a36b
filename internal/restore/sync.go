package restore

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeSynced writes a small file and fsyncs it.
func writeSynced(path string, data []byte) error {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|noFollow, 0o644)
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

// syncTree fsyncs every file and directory under dir, dir included: what
// syncFS does in one call where the platform has syncfs(2).
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("cannot sync %s: %w", path, err)
		}
		if d.IsDir() {
			return syncDir(path)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if err := syncFile(path); err != nil {
			return fmt.Errorf("cannot sync %s: %w", path, err)
		}
		return nil
	})
}
