package restore

import (
	"errors"
	"io/fs"
	"os"
)

// syncDir does nothing on Windows, which cannot fsync a directory
// (FlushFileBuffers needs a handle open for writing, and a directory opens
// only for reading); NTFS journals renames itself.
func syncDir(string) error { return nil }

// syncFile flushes a file through a handle open for writing, the only kind
// FlushFileBuffers takes. A file restored read-only cannot be opened so and
// is left to the system's cache, as it was written and closed already.
func syncFile(path string) error {
	fh, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrPermission) {
		return nil
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	return fh.Sync()
}
