package retry_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/retry"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

// flaky fails the first n calls of every operation with err, after
// consuming the writer's input as a real upload would. A fault injector:
// real stores cannot be made to fail on cue.
type flaky struct {
	be    storage.Backend
	n     int32
	err   error
	calls atomic.Int32
}

func (f *flaky) fail() error {
	if f.calls.Add(1) <= f.n {
		return f.err
	}
	return nil
}

func (f *flaky) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	if err := f.fail(); err != nil {
		_, _ = io.CopyN(io.Discard, r, size/2)
		return err
	}
	return f.be.Put(ctx, name, size, r)
}

func (f *flaky) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	if err := f.fail(); err != nil {
		return storage.ObjectInfo{}, err
	}
	return f.be.Stat(ctx, name)
}

func (f *flaky) Location() string { return f.be.Location() }
func (f *flaky) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	return f.be.Create(ctx, name, size, r)
}
func (f *flaky) Get(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	return f.be.Get(ctx, name, off, n)
}
func (f *flaky) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	return f.be.List(ctx, prefix, fn)
}
func (f *flaky) Delete(ctx context.Context, name string) error { return f.be.Delete(ctx, name) }
func (f *flaky) StageFile() (*os.File, error)                  { return f.be.StageFile() }
func (f *flaky) PutStaged(ctx context.Context, name string, file *os.File) error {
	return f.be.PutStaged(ctx, name, file)
}
func (f *flaky) Close() error { return f.be.Close() }

var transient = fmt.Errorf("connection reset: %w", storage.ErrTransient)

var fast = retry.Policy{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend { return retry.Wrap(mem.New("mem://test"), fast) })
}

func TestTransientPutIsRetriedFromTheStart(t *testing.T) {
	f := &flaky{be: mem.New("mem://test"), n: 3, err: transient}
	b := retry.Wrap(f, fast)
	data := []byte("the whole pack, sent again from its first byte")
	if err := b.Put(t.Context(), "data/p", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Put after 3 transient failures: %v", err)
	}
	got, err := storage.ReadAll(t.Context(), b, "data/p")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored %q, %v; want %q", got, err, data)
	}
	if c := f.calls.Load(); c != 4 {
		t.Errorf("%d attempts, want 4", c)
	}
}

func TestAttemptsRunOut(t *testing.T) {
	f := &flaky{be: mem.New("mem://test"), n: 100, err: transient}
	_, err := retry.Wrap(f, fast).Stat(t.Context(), "x")
	if !errors.Is(err, storage.ErrTransient) || !strings.Contains(err.Error(), "after 4 attempts") {
		t.Fatalf("Stat failing every time: %v", err)
	}
	if c := f.calls.Load(); c != 4 {
		t.Errorf("%d attempts, want 4", c)
	}
}

func TestPermanentErrorsFailFast(t *testing.T) {
	for _, perm := range []error{storage.ErrPermission, storage.ErrBucketNotFound, storage.ErrNotFound, errors.New("bad request")} {
		f := &flaky{be: mem.New("mem://test"), n: 100, err: fmt.Errorf("cannot stat x: %w", perm)}
		_, err := retry.Wrap(f, fast).Stat(t.Context(), "x")
		if !errors.Is(err, perm) {
			t.Errorf("Stat: %v, want %v", err, perm)
		}
		if c := f.calls.Load(); c != 1 {
			t.Errorf("%v: %d attempts, want 1", perm, c)
		}
	}
}

func TestUnseekableInputIsNotRetried(t *testing.T) {
	f := &flaky{be: mem.New("mem://test"), n: 1, err: transient}
	data := "cannot be rewound"
	err := retry.Wrap(f, fast).Put(t.Context(), "x", int64(len(data)), io.MultiReader(strings.NewReader(data)))
	if !errors.Is(err, storage.ErrTransient) || f.calls.Load() != 1 {
		t.Fatalf("Put from a stream: %v after %d attempts, want the transient error after 1", err, f.calls.Load())
	}
}

func TestCancelStopsBackoff(t *testing.T) {
	f := &flaky{be: mem.New("mem://test"), n: 100, err: transient}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := retry.Wrap(f, retry.Policy{Attempts: 10, Base: time.Hour, Max: time.Hour}).Stat(ctx, "x")
	if !errors.Is(err, context.Canceled) || !errors.Is(err, storage.ErrTransient) {
		t.Fatalf("Stat with a cancelled context: %v", err)
	}
}
