package retry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/retry"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

// flaky fails the first n Puts and Stats with err, a Put after consuming
// half its input as an upload cut off midway would.
func flaky(n int, err error) *faults.Backend {
	return faults.New(mem.New("test"), faults.Rule{Op: faults.OpPut | faults.OpStat, Times: n, Err: err, Short: true})
}

func calls(f *faults.Backend) int { return f.Calls(faults.OpPut|faults.OpStat, "") }

var errTransient = fmt.Errorf("connection reset: %w", storage.ErrTransient)

var fast = retry.Policy{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return retry.Wrap(mem.New("mem://test"), fast) })
}

func TestConformanceLocal(t *testing.T) {
	storagetest.RunWith(t, func(t *testing.T) storage.Backend { return retry.Wrap(local.New(t.TempDir()), fast) },
		storagetest.Options{Renames: true})
}

func TestTransientPutIsRetriedFromTheStart(t *testing.T) {
	f := flaky(3, errTransient)
	b := retry.Wrap(f, fast)
	data := []byte("the whole pack, sent again from its first byte")
	if err := b.Put(t.Context(), "data/p", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put after 3 transient failures: %v", err)
	}
	got, err := storage.ReadAll(t.Context(), b, "data/p")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored %q, %v; want %q", got, err, data)
	}
	if c := calls(f); c != 4 {
		t.Errorf("%d attempts, want 4", c)
	}
}

func TestAttemptsRunOut(t *testing.T) {
	f := flaky(100, errTransient)
	_, err := retry.Wrap(f, fast).Stat(t.Context(), "x")
	if !errors.Is(err, storage.ErrTransient) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("Stat failing every time: %v", err)
	}
	if c := calls(f); c != 4 {
		t.Errorf("%d attempts, want 4", c)
	}
}

func TestPermanentErrorsFailFast(t *testing.T) {
	for _, perm := range []error{storage.ErrPermission, storage.ErrBucketNotFound, storage.ErrNotFound, errors.New("bad request")} {
		f := flaky(100, fmt.Errorf("cannot stat x: %w", perm))
		_, err := retry.Wrap(f, fast).Stat(t.Context(), "x")
		if !errors.Is(err, perm) {
			t.Errorf("Stat: %v, want %v", err, perm)
		}
		if c := calls(f); c != 1 {
			t.Errorf("%v: %d attempts, want 1", perm, c)
		}
	}
}

func TestUnseekableInputIsNotRetried(t *testing.T) {
	f := flaky(1, errTransient)
	data := "cannot be rewound"
	err := retry.Wrap(f, fast).Put(t.Context(), "x", int64(len(data)), io.MultiReader(strings.NewReader(data)))
	if !errors.Is(err, storage.ErrTransient) || calls(f) != 1 {
		t.Fatalf("Put from a stream: %v after %d attempts, want the transient error after 1", err, calls(f))
	}
}

func TestCancelStopsBackoff(t *testing.T) {
	f := flaky(100, errTransient)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := retry.Wrap(f, retry.Policy{Attempts: 10, Base: time.Hour, Max: time.Hour}).Stat(ctx, "x")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, storage.ErrTransient) {
		t.Fatalf("Stat with a cancelled context: %v", err)
	}
}

// A staged put that fails is sent again from the same file, which the
// wrapped backend takes over at every attempt; no link is left behind.
func TestStagedPutIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fails int
		ok    bool
	}{{"cured", 3, true}, {"for good", 100, false}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			f := faults.New(local.New(dir), faults.Rule{Op: faults.OpPutStaged, Times: tc.fails, Err: errTransient, Short: true})
			b := retry.Wrap(f, fast)
			staged, err := b.StageFile()
			if err != nil {
				t.Fatal(err)
			}
			data := []byte("a pack, staged once")
			if _, err := staged.Write(data); err != nil {
				t.Fatal(err)
			}
			putStagedFailing(t, f, b, staged, data, tc.fails, tc.ok)
			entries, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if !e.IsDir() {
					t.Errorf("left in the repository: %s", e.Name())
				}
			}
		})
	}
}

// putStagedFailing stores staged (holding data) as data/p through b, the
// retry wrapper of f, whose first fails staged puts fail: it checks that
// the put succeeded exactly when ok, failing with a transient error
// otherwise, that f saw one attempt per failure and one more (within the
// policy's attempts), and that a successful put stored data whole.
func putStagedFailing(t *testing.T, f *faults.Backend, b storage.Backend, staged *os.File, data []byte, fails int, ok bool) {
	t.Helper()
	err := b.PutStaged(t.Context(), "data/p", staged)
	if ok != (err == nil) || !ok && !errors.Is(err, storage.ErrTransient) {
		t.Fatalf("PutStaged after %d transient failures: %v", fails, err)
	}
	if want := min(fails+1, fast.Attempts); f.Calls(faults.OpPutStaged, "") != want {
		t.Errorf("%d attempts, want %d", f.Calls(faults.OpPutStaged, ""), want)
	}
	if ok {
		if got, err := storage.ReadAll(t.Context(), b, "data/p"); err != nil || !bytes.Equal(got, data) {
			t.Errorf("stored %d bytes (%v), want the %d staged", len(got), err, len(data))
		}
	}
}
