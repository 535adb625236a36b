package storage

import (
	"context"
	"fmt"
	"io"
	"os"
)

// StageTemp creates an empty file in the system's temporary directory: the
// StageFile of backends that have no cheaper place for a staged object.
//
// On Unix the file has no name: it lives on through its descriptor only,
// and its space is freed when the last descriptor closes, so a process that
// is killed (SIGKILL, the OOM killer) leaves nothing in the temporary
// directory. On Linux it is created without one (O_TMPFILE), so not even a
// process stopped or killed at the moment of creation leaves one; on other
// Unix systems, or a Linux file system without O_TMPFILE, its name is
// removed right after it is created. Its Name is then only for messages.
// Elsewhere the file keeps its name until PutFile or DiscardStaged removes
// it.
func StageTemp() (*os.File, error) {
	dir := os.TempDir()
	if f := openNameless(dir, "banyan-backup-stage"); f != nil {
		return f, nil
	}
	f, err := os.CreateTemp(dir, "banyan-backup-stage-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create a temporary file: %w", err)
	}
	unname(f)
	return f, nil
}

// PutFile stores the whole content of the staged file f under name with
// b.Put, then closes f and removes its name if it still has one, whether
// the Put succeeded or not: the PutStaged of backends that store a file by
// reading it. It reads f through its descriptor only.
func PutFile(ctx context.Context, b Backend, name string, f *os.File) error {
	defer DiscardStaged(f)
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read staged %s: %w", name, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("cannot read staged %s: %w", name, err)
	}
	return b.Put(ctx, name, st.Size(), f)
}

// DiscardStaged closes a staged file that will not be stored and removes
// its name, if it still has one (a file of StageTemp has none on Unix).
// Another file that took the name since is left alone.
func DiscardStaged(f *os.File) {
	named := stillNamed(f)
	_ = f.Close()
	if named {
		_ = os.Remove(f.Name())
	}
}

// stillNamed reports whether f.Name() still names the open file f; when
// f cannot be examined, it says so, and the name is removed as it always
// was.
func stillNamed(f *os.File) bool {
	open, err := f.Stat()
	if err != nil {
		return true
	}
	named, err := os.Lstat(f.Name())
	return err == nil && os.SameFile(open, named)
}
