package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

func TestParseRate(t *testing.T) {
	for in, want := range map[string]int64{
		"": 0, "0": 0, "1048576": 1 << 20, "20MiB": 20 << 20, "20MiB/s": 20 << 20, "500KiB": 500 << 10,
		"1GiB": 1 << 30, "20MB": 20e6, "1.5MiB": 3 << 19, "64k": 64 << 10, "100 MiB": 100 << 20,
	} {
		got, err := ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"fast", "-1MiB", "20XB", "MiB"} {
		if _, err := ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q): no error", in)
		}
	}
}

func TestNilLimiterPassesThrough(t *testing.T) {
	var l *Limiter
	r := bytes.NewReader([]byte("abc"))
	if l.Reader(context.Background(), r) != io.Reader(r) {
		t.Fatal("nil limiter wrapped the reader")
	}
	if New(0) != nil || New(-5) != nil {
		t.Fatal("a limit of 0 or less is not 'no limit'")
	}
	be := mem.New("m")
	if WrapBackend(be, nil, nil) != storage.Backend(be) {
		t.Fatal("no limits wrapped the backend")
	}
}

func TestReaderKeepsData(t *testing.T) {
	data := make([]byte, 3<<20)
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rnd.Uint32())
	}
	l := New(1 << 30)
	got, err := io.ReadAll(l.Reader(context.Background(), bytes.NewReader(data)))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, err %v; want the %d bytes written", len(got), err, len(data))
	}
}

func TestWaitCancelled(t *testing.T) {
	l := New(1024) // 1 KiB/s: a MiB would take 17 minutes
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.WaitN(ctx, 1<<20); !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitN on a cancelled context = %v", err)
	}
	_, err := io.ReadAll(l.Reader(ctx, bytes.NewReader(make([]byte, 1<<20))))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("read on a cancelled context = %v", err)
	}
}

// The suite, with limits high enough not to slow it down much.
func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return WrapBackend(mem.New(t.Name()), New(1<<30), New(1<<30))
	})
}

func TestConformanceLocal(t *testing.T) {
	storagetest.RunWith(t, func(t *testing.T) storage.Backend {
		return WrapBackend(local.New(t.TempDir()), New(1<<30), New(1<<30))
	}, storagetest.Options{Renames: true})
}

// The wrapped backend stores and returns the same bytes through every path,
// including the staged one the local backend uses for packs.
func TestBackendRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, be := range []storage.Backend{mem.New("m"), local.New(filepath.Join(t.TempDir(), "repo"))} {
		w := WrapBackend(be, New(1<<30), New(1<<30))
		data := bytes.Repeat([]byte("banyan"), 100000)
		if err := w.Put(ctx, "data/a", int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if err := w.Create(ctx, "data/b", int64(len(data)), bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		f, err := w.StageFile()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := w.PutStaged(ctx, "data/c", f); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"data/a", "data/b", "data/c"} {
			got, err := storage.ReadAll(ctx, w, name)
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s %s: %d bytes, %v", be.Location(), name, len(got), err)
			}
		}
		rc, err := w.Get(ctx, "data/a", 6, 6)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(rc)
		rc.Close()
		if string(part) != "banyan" {
			t.Fatalf("ranged get = %q", part)
		}
	}
}
