package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

func put(t *testing.T, b storage.Backend, name string, data []byte) {
	t.Helper()
	if err := b.Put(t.Context(), name, int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%s): %v", name, err)
	}
}

func get(t *testing.T, b storage.Backend, name string) []byte {
	t.Helper()
	data, err := storage.ReadAll(t.Context(), b, name)
	if err != nil {
		t.Fatalf("Get(%s): %v", name, err)
	}
	return data
}

func list(t *testing.T, b storage.Backend, prefix string) map[string]int64 {
	t.Helper()
	got := make(map[string]int64)
	err := b.List(t.Context(), prefix, func(info storage.ObjectInfo) error {
		if _, dup := got[info.Name]; dup {
			t.Errorf("List(%q) reported %s twice", prefix, info.Name)
		}
		got[info.Name] = info.Size
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return got
}

func wantSize(t *testing.T, b storage.Backend, name string, size int64) {
	t.Helper()
	info, err := b.Stat(t.Context(), name)
	if err != nil {
		t.Fatalf("Stat(%s): %v", name, err)
	}
	if info.Size != size {
		t.Errorf("Stat(%s).Size = %d, want %d", name, info.Size, size)
	}
}

// wantNotFound checks that Get, Stat and Delete of name fail with
// ErrNotFound.
func wantNotFound(t *testing.T, b storage.Backend, name string) {
	t.Helper()
	ctx := t.Context()
	if rc, err := b.Get(ctx, name, 0, -1); !errors.Is(err, storage.ErrNotFound) {
		if err == nil {
			_ = rc.Close()
		}
		t.Errorf("Get(%s): %v, want ErrNotFound", name, err)
	}
	if _, err := b.Stat(ctx, name); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%s): %v, want ErrNotFound", name, err)
	}
	if err := b.Delete(ctx, name); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Delete(%s): %v, want ErrNotFound", name, err)
	}
}

// randomBytes returns n deterministic pseudo-random bytes.
func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	return data
}

// errReader fails every Read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// cancelReader calls cancel after its first successful Read.
type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (r *cancelReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.cancel()
	}
	return n, err
}

// WantEmptyDir fails the test unless dir holds nothing, saying when it
// looked: a temporary directory in which staged files leave no name.
func WantEmptyDir(t *testing.T, dir, when string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s, the temporary directory holds %s", when, e.Name())
	}
}
