package faults_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

var errTransient = fmt.Errorf("connection reset: %w", storage.ErrTransient)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return faults.New(mem.New(t.Name())) })
}

func TestConformanceLocal(t *testing.T) {
	storagetest.RunWith(t, func(t *testing.T) storage.Backend { return faults.New(local.New(t.TempDir())) },
		storagetest.Options{Renames: true})
}

func put(ctx context.Context, b storage.Backend, name, data string) error {
	return b.Put(ctx, name, int64(len(data)), strings.NewReader(data))
}

func TestNthCallFails(t *testing.T) {
	ctx := t.Context()
	b := faults.New(mem.New("t"), faults.Rule{Op: faults.OpPut, Prefix: "data/", After: 1, Times: 2, Err: errTransient})
	var got []bool
	for i := range 5 {
		got = append(got, put(ctx, b, fmt.Sprintf("data/%d", i), "x") == nil)
	}
	if want := []bool{true, false, false, true, true}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Put succeeded %v, want %v", got, want)
	}
	if err := put(ctx, b, "index/0", "x"); err != nil {
		t.Errorf("Put outside the prefix: %v", err)
	}
	err := put(ctx, b, "data/1", "x")
	if err != nil {
		t.Errorf("Put after the rule's Times: %v", err)
	}
	if n := b.Calls(faults.OpPut, "data/"); n != 6 {
		t.Errorf("Calls(put, data/) = %d, want 6", n)
	}
	if n := b.Calls(0, ""); n != 7 {
		t.Errorf("Calls(all) = %d, want 7", n)
	}
	if _, err := b.Stat(ctx, "data/2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a failed Put stored its object: %v", err)
	}
}

func TestEveryCallFails(t *testing.T) {
	ctx := t.Context()
	boom := errors.New("boom")
	b := faults.New(mem.New("t"))
	if err := put(ctx, b, "data/a", "x"); err != nil {
		t.Fatal(err)
	}
	b.SetRules(faults.Rule{Op: faults.OpGet | faults.OpStat | faults.OpList | faults.OpDelete, Err: boom})
	if _, err := b.Get(ctx, "data/a", 0, -1); !errors.Is(err, boom) {
		t.Errorf("Get: %v", err)
	}
	if _, err := b.Stat(ctx, "data/a"); !errors.Is(err, boom) {
		t.Errorf("Stat: %v", err)
	}
	if err := b.List(ctx, "data/", func(storage.ObjectInfo) error { return nil }); !errors.Is(err, boom) {
		t.Errorf("List: %v", err)
	}
	if err := b.Delete(ctx, "data/a"); !errors.Is(err, boom) {
		t.Errorf("Delete: %v", err)
	}
	if err := put(ctx, b, "data/b", "y"); err != nil {
		t.Errorf("Put, which no rule names: %v", err)
	}
	b.SetRules()
	if _, err := b.Stat(ctx, "data/a"); err != nil {
		t.Errorf("Stat after the rules are cleared: %v", err)
	}
}

// countingReader counts the bytes read from it.
type countingReader struct {
	r *bytes.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestShortWrite(t *testing.T) {
	ctx := t.Context()
	b := faults.New(mem.New("t"), faults.Rule{Op: faults.OpWrite, Err: errTransient, Short: true})
	data := bytes.Repeat([]byte("x"), 1000)
	r := &countingReader{r: bytes.NewReader(data)}
	if err := b.Create(ctx, "locks/l", int64(len(data)), r); !errors.Is(err, storage.ErrTransient) {
		t.Fatalf("Create: %v", err)
	}
	if r.n == 0 || r.n >= len(data) {
		t.Errorf("a short write read %d of %d bytes", r.n, len(data))
	}
	f, err := b.StageFile()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := b.PutStaged(ctx, "data/p", f); !errors.Is(err, storage.ErrTransient) {
		t.Fatalf("PutStaged: %v", err)
	}
	if _, err := os.Stat(f.Name()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the staged file outlived a failed PutStaged: %v", err)
	}
	for _, name := range []string{"locks/l", "data/p"} {
		if _, err := b.Stat(ctx, name); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("a short write stored %s: %v", name, err)
		}
	}
}

func TestDelay(t *testing.T) {
	b := faults.New(mem.New("t"), faults.Rule{Op: faults.OpStat, Delay: 50 * time.Millisecond})
	start := time.Now()
	if _, err := b.Stat(t.Context(), "x"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Stat: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("Stat took %v, want at least the delay", d)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := b.Stat(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("Stat delayed with a cancelled context: %v", err)
	}
}

func TestCrashAfter(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	b := faults.New(local.New(dir))
	if err := put(ctx, b, "a", "1"); err != nil {
		t.Fatal(err)
	}
	b.CrashAfter(2)
	if err := b.Create(ctx, "a", 1, strings.NewReader("2")); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("Create of a taken name: %v", err) // a failed write is not counted
	}
	if err := put(ctx, b, "b", "2"); err != nil {
		t.Fatal(err)
	}
	if err := b.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n := b.Writes(); n != 3 {
		t.Errorf("Writes() = %d, want 3", n)
	}
	// The process is dead: nothing more is written or deleted.
	if err := put(ctx, b, "c", "3"); !errors.Is(err, faults.ErrCrashed) {
		t.Errorf("Put after the crash: %v", err)
	}
	if err := b.Delete(ctx, "b"); !errors.Is(err, faults.ErrCrashed) {
		t.Errorf("Delete after the crash: %v", err)
	}
	f, err := b.StageFile()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PutStaged(ctx, "d", f); !errors.Is(err, faults.ErrCrashed) {
		t.Errorf("PutStaged after the crash: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if fmt.Sprint(names) != "[b]" {
		t.Errorf("after the crash the directory holds %v, want [b]", names)
	}
	if _, err := b.Stat(ctx, "b"); err != nil {
		t.Errorf("Stat after the crash: %v", err)
	}
	b.CrashAfter(-1)
	if err := put(ctx, b, "c", "3"); err != nil {
		t.Errorf("Put once the crash point is removed: %v", err)
	}
}

func TestPause(t *testing.T) {
	ctx := t.Context()
	b := faults.New(mem.New("t"))
	p := b.PauseBefore(faults.OpCreate, "manifests/")
	if err := b.Create(ctx, "locks/l", 1, strings.NewReader("l")); err != nil {
		t.Fatalf("Create outside the prefix: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- b.Create(ctx, "manifests/m", 1, strings.NewReader("m")) }()
	<-p.Reached()
	if _, err := b.Stat(ctx, "manifests/m"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat while the Create is held: %v", err)
	}
	select {
	case err := <-done:
		t.Fatalf("the held Create returned %v", err)
	default:
	}
	// Only the first matching call is held.
	if err := b.Create(ctx, "manifests/n", 1, strings.NewReader("n")); err != nil {
		t.Fatal(err)
	}
	p.Release()
	if err := <-done; err != nil {
		t.Fatalf("the released Create: %v", err)
	}
	p.Release()

	// A held call gives up when its context is done.
	p = b.PauseBefore(faults.OpDelete, "")
	cctx, cancel := context.WithCancel(ctx)
	go func() { <-p.Reached(); cancel() }()
	if err := b.Delete(cctx, "manifests/m"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete held and cancelled: %v", err)
	}
	if _, err := b.Stat(ctx, "manifests/m"); err != nil {
		t.Errorf("a cancelled Delete deleted: %v", err)
	}
}
