//go:build !windows

package restore

import (
	"fmt"
	"os"
)

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

// openForSync opens a file so that it can be fsynced.
func openForSync(path string) (*os.File, error) { return os.Open(path) }
