//go:build unix

package storage_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

// stageTemp stages data in a file of StageTemp.
func stageTemp(t *testing.T, data []byte) *os.File {
	t.Helper()
	f, err := storage.StageTemp()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		storage.DiscardStaged(f)
		t.Fatal(err)
	}
	return f
}

// A file of StageTemp has no name from the start, so that a process killed
// while it stages leaves nothing in the temporary directory; PutFile
// stores it whole from its descriptor and closes it.
func TestStageTempLeavesNoName(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	data := bytes.Repeat([]byte("a staged pack "), 1<<16)
	f := stageTemp(t, data)
	storagetest.WantEmptyDir(t, tmp, "after StageTemp")
	if !storage.Nameless(f) {
		t.Errorf("the staged file %s is not nameless", f.Name())
	}
	be := mem.New("mem://test")
	if err := storage.PutFile(t.Context(), be, "data/p", f); err != nil {
		t.Fatalf("PutFile: %v", err)
	}
	if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("PutFile left the staged file open: %v", err)
	}
	if got, err := storage.ReadAll(t.Context(), be, "data/p"); err != nil || !bytes.Equal(got, data) {
		t.Errorf("stored %d bytes (%v), want the %d staged", len(got), err, len(data))
	}

	f = stageTemp(t, data)
	storage.DiscardStaged(f)
	if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("DiscardStaged left the staged file open: %v", err)
	}
	storagetest.WantEmptyDir(t, tmp, "after PutFile and DiscardStaged")
}

// DiscardStaged removes no file that took a nameless staged file's name
// since (another process's staged file, say).
func TestDiscardStagedKeepsAnotherFilesName(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	f := stageTemp(t, []byte("mine"))
	if err := os.WriteFile(f.Name(), []byte("another's"), 0o600); err != nil {
		t.Fatal(err)
	}
	storage.DiscardStaged(f)
	if got, err := os.ReadFile(f.Name()); err != nil || string(got) != "another's" {
		t.Errorf("after DiscardStaged the file that took the name holds %q (%v), want it kept", got, err)
	}
}

// DupStaged gives a handle of its own, which can be closed while the file
// stays open through the other.
func TestDupStaged(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	f := stageTemp(t, []byte("one file, two descriptors"))
	defer storage.DiscardStaged(f)
	h, err := storage.DupStaged(f)
	if err != nil {
		t.Fatal(err)
	}
	storage.DiscardStaged(h)
	got := make([]byte, 8)
	if _, err := f.ReadAt(got, 0); err != nil || string(got) != "one file" {
		t.Errorf("the file read %q (%v) after its duplicate was closed", got, err)
	}
}
