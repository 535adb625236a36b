package local

// syncDir does nothing on Windows, which cannot fsync a directory
// (FlushFileBuffers needs a handle open for writing, and a directory opens
// only for reading); NTFS journals the entries created, renamed or removed
// in it.
func syncDir(string) error { return nil }
