package storage_test

import (
	"fmt"
	"io"
	"os"
	"strings"
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

// On Linux a file of StageTemp never had a name in TMPDIR (O_TMPFILE), so
// not even a process stopped or killed between creating it and removing
// its name leaves one there: the kernel's path of its descriptor is not
// a staged file's name.
func TestStageTempNeverHadAName(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	f := stageTemp(t, []byte("a staged pack"))
	defer storage.DiscardStaged(f)
	path, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(path, "banyan-backup-stage") {
		t.Errorf("the staged file was created with a name and then unnamed: its descriptor's path is %q", path)
	}
}
