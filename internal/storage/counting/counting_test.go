package counting_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/counting"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return counting.Wrap(mem.New(t.Name())) })
}

func TestConformanceLocal(t *testing.T) {
	storagetest.RunWith(t, func(t *testing.T) storage.Backend { return counting.Wrap(local.New(t.TempDir())) },
		storagetest.Options{Renames: true})
}

func TestCounts(t *testing.T) {
	ctx := t.Context()
	b := counting.Wrap(mem.New("t"))
	if err := b.Put(ctx, "data/a", 5, strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(ctx, "locks/l", 3, strings.NewReader("abc")); err != nil {
		t.Fatal(err)
	}
	// A failed write counts as an operation, not as bytes.
	if err := b.Create(ctx, "locks/l", 3, strings.NewReader("xyz")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second Create: %v", err)
	}
	f, err := b.StageFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(bytes.Repeat([]byte("p"), 1000)); err != nil {
		t.Fatal(err)
	}
	if err := b.PutStaged(ctx, "data/p", f); err != nil {
		t.Fatal(err)
	}
	rc, err := b.Get(ctx, "data/p", 10, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); err != nil {
		t.Fatal(err)
	}
	_ = rc.Close()
	if _, err := b.Get(ctx, "data/missing", 0, -1); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get of a missing object: %v", err)
	}
	if _, err := b.Stat(ctx, "data/a"); err != nil {
		t.Fatal(err)
	}
	if err := b.List(ctx, "", func(storage.ObjectInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "data/a"); err != nil {
		t.Fatal(err)
	}
	want := counting.Counts{Uploaded: 5 + 3 + 1000, Downloaded: 100, Puts: 4, Gets: 2, Stats: 1, Lists: 1, Deletes: 1}
	if got := b.Counts(); got != want {
		t.Fatalf("Counts() = %+v, want %+v", got, want)
	}
}
