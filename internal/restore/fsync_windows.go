package restore

import "os"

// syncDir does nothing on Windows, which cannot fsync a directory
// (FlushFileBuffers needs a handle open for writing, and a directory opens
// only for reading); NTFS journals renames itself.
func syncDir(string) error { return nil }

// openForSync opens a file for writing: FlushFileBuffers refuses a handle
// open only for reading.
func openForSync(path string) (*os.File, error) { return os.OpenFile(path, os.O_WRONLY, 0) }
