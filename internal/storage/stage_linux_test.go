package storage_test

import (
	"io"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// On Linux the handle DupStaged gives has a file position of its own: a
// late reader of one attempt cannot move the next attempt's reads.
func TestDupStagedHasItsOwnPosition(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	f := stageTemp(t, []byte("0123456789"))
	defer storage.DiscardStaged(f)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	h, err := storage.DupStaged(f)
	if err != nil {
		t.Fatal(err)
	}
	defer storage.DiscardStaged(h)
	if h.Name() != f.Name() {
		t.Errorf("the second handle is named %q, the staged file %q", h.Name(), f.Name())
	}
	if _, err := h.Seek(6, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(f, got); err != nil || string(got) != "0123" {
		t.Errorf("the staged file read %q (%v) after its second handle moved: they share a position", got, err)
	}
	if _, err := io.ReadFull(h, got); err != nil || string(got) != "6789" {
		t.Errorf("the second handle read %q (%v)", got, err)
	}
}
