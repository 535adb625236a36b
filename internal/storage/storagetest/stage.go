package storagetest

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// stage writes data to a new staged file of b.
func stage(t *testing.T, b storage.Backend, data []byte) *os.File {
	t.Helper()
	f, err := b.StageFile()
	if err != nil {
		t.Fatalf("StageFile: %v", err)
	}
	if _, err := f.Write(data); err != nil {
		storage.DiscardStaged(f)
		t.Fatalf("cannot write the staged file: %v", err)
	}
	return f
}

// wantGone checks that PutStaged took the staged file over: it is closed
// (a file without a name is freed only then) and its name is gone.
func wantGone(t *testing.T, f *os.File) {
	t.Helper()
	if _, err := f.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("the staged file %s is still open: %v", f.Name(), err)
	}
	if _, err := os.Stat(f.Name()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the staged file %s is still there: %v", f.Name(), err)
	}
}

func testStaged(t *testing.T, b storage.Backend) {
	data := randomBytes(11, 3<<20+5)
	for name, data := range map[string][]byte{"data/ab/staged": data, "data/empty": nil} {
		f := stage(t, b, data)
		if len(data) > 0 {
			// The staged file is open for reading too.
			var first [1]byte
			if _, err := f.ReadAt(first[:], 0); err != nil || first[0] != data[0] {
				t.Errorf("cannot read the staged file back: %v", err)
			}
		}
		if err := b.PutStaged(t.Context(), name, f); err != nil {
			t.Fatalf("PutStaged(%s): %v", name, err)
		}
		wantGone(t, f)
		if got := get(t, b, name); !bytes.Equal(got, data) {
			t.Errorf("Get(%s) after PutStaged: %d bytes, want the %d staged", name, len(got), len(data))
		}
		wantSize(t, b, name, int64(len(data)))
	}
	want := map[string]int64{"data/ab/staged": int64(len(data)), "data/empty": 0}
	if got := list(t, b, "data/"); !maps.Equal(got, want) {
		t.Errorf("List after PutStaged = %v, want %v", got, want)
	}
}

func testStagedOverwrite(t *testing.T, b storage.Backend) {
	put(t, b, "data/p", []byte("the first, longer version"))
	f := stage(t, b, []byte("second"))
	if err := b.PutStaged(t.Context(), "data/p", f); err != nil {
		t.Fatalf("PutStaged over an object: %v", err)
	}
	if got := get(t, b, "data/p"); string(got) != "second" {
		t.Fatalf("Get after PutStaged over an object = %q, want %q", got, "second")
	}
}

// testStagedFailures: a failed PutStaged stores nothing and removes the
// staged file too.
func testStagedFailures(t *testing.T, b storage.Backend) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	put(t, b, "data/old", []byte("old"))
	f := stage(t, b, []byte("new content"))
	if err := b.PutStaged(ctx, "data/old", f); !errors.Is(err, context.Canceled) {
		t.Errorf("PutStaged with a cancelled context: %v, want context.Canceled", err)
	}
	wantGone(t, f)
	if got := get(t, b, "data/old"); string(got) != "old" {
		t.Errorf("content after a cancelled PutStaged = %q, want the old content", got)
	}
	f = stage(t, b, []byte("x"))
	if err := b.PutStaged(ctx, "data/cancelled", f); !errors.Is(err, context.Canceled) {
		t.Errorf("PutStaged with a cancelled context: %v, want context.Canceled", err)
	}
	wantGone(t, f)
	wantNotFound(t, b, "data/cancelled")
	for _, name := range []string{"../x", "/abs", "dir/"} {
		f := stage(t, b, []byte("x"))
		if err := b.PutStaged(t.Context(), name, f); !errors.Is(err, storage.ErrInvalidName) {
			t.Errorf("PutStaged(%q): %v, want ErrInvalidName", name, err)
		}
		wantGone(t, f)
	}
	// A staged file that will not be stored.
	f = stage(t, b, []byte("dropped"))
	storage.DiscardStaged(f)
	wantGone(t, f)
	if got := list(t, b, ""); !maps.Equal(got, map[string]int64{"data/old": 3}) {
		t.Errorf("List after failed staged puts = %v", got)
	}
}

// testStagedRename: the staged file is made in the repository directory
// and becomes the object (the same file), with nothing left beside it.
func testStagedRename(t *testing.T, b storage.Backend) {
	data := randomBytes(12, 1<<20)
	f := stage(t, b, data)
	staged, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(f.Name())
	if err := b.PutStaged(t.Context(), "data/ab/renamed", f); err != nil {
		t.Fatalf("PutStaged: %v", err)
	}
	wantGone(t, f)
	stored, err := os.Stat(filepath.Join(root, "data", "ab", "renamed"))
	if err != nil {
		t.Fatalf("the object is not in the directory it was staged in (%s): %v", root, err)
	}
	if !os.SameFile(staged, stored) {
		t.Errorf("the stored object is a copy of the staged file, not the file renamed")
	}
	if got := get(t, b, "data/ab/renamed"); !bytes.Equal(got, data) {
		t.Errorf("Get after a renamed PutStaged: %d bytes, want %d", len(got), len(data))
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"data"}) {
		t.Errorf("the repository directory holds %v, want only data", names)
	}
}
