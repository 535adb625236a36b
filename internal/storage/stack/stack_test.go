package stack_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
	"github.com/banyan-backup/banyan-backup/internal/storage/retry"
	"github.com/banyan-backup/banyan-backup/internal/storage/stack"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

var fast = retry.Policy{Attempts: 4, Base: time.Millisecond, Max: 4 * time.Millisecond}

var errTransient = fmt.Errorf("connection reset: %w", storage.ErrTransient)

// limited is the options of a run with both limits set, high enough not to
// slow the tests down much.
func limited() stack.Options {
	return stack.Options{Retry: fast, Upload: ratelimit.New(1 << 30), Download: ratelimit.New(1 << 30)}
}

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		return stack.Build(mem.New(t.Name()), limited()).Backend()
	})
}

func TestConformanceLocal(t *testing.T) {
	storagetest.RunWith(t, func(t *testing.T) storage.Backend {
		return stack.Build(local.New(t.TempDir()), limited()).Backend()
	}, storagetest.Options{Renames: true})
}

func TestConformanceNoLimits(t *testing.T) {
	storagetest.RunWith(t, func(t *testing.T) storage.Backend {
		return stack.Build(local.New(t.TempDir()), stack.Options{Retry: fast}).Backend()
	}, storagetest.Options{Renames: true})
}

// failOnce fails the first Create of a manifest with a transient error,
// after the upload read half of it.
func failOnce() *faults.Backend {
	return faults.New(mem.New("t"), faults.Rule{Op: faults.OpCreate, Prefix: "manifests/", Times: 1, Err: errTransient, Short: true})
}

// TestRetriedUnderUploadLimit: with --limit-upload, a manifest (written from
// a byte reader) that fails once with a transient error is sent again and
// stored. It fails on the old arrangement, the limiter around retry (see
// TestOldOrderDidNotRetry).
func TestRetriedUnderUploadLimit(t *testing.T) {
	f := failOnce()
	s := stack.Build(f, stack.Options{Retry: fast, Upload: ratelimit.New(1 << 30)})
	data := []byte(`{"format":1,"tree":"a manifest"}`)
	if err := s.Backend().Create(t.Context(), "manifests/m1", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatalf("Create of a manifest failing once: %v", err)
	}
	if got, err := storage.ReadAll(t.Context(), f, "manifests/m1"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored %q, %v; want %q", got, err, data)
	}
	if n := f.Calls(faults.OpCreate, "manifests/"); n != 2 {
		t.Errorf("%d attempts, want 2", n)
	}
	// Both attempts went through the limiter to the counter; the object's
	// bytes count once.
	if c := s.Counts(); c.Puts != 2 || c.Uploaded != int64(len(data)) {
		t.Errorf("Counts() = %+v, want 2 puts and %d bytes uploaded", c, len(data))
	}
}

// TestOldOrderDidNotRetry pins down the bug the stack fixes: with the
// limiter around retry (as the CLI used to wrap backends.OpenWith's retry
// backend), retry is handed the limiter's reader, which cannot be rewound,
// and gives up after one attempt.
func TestOldOrderDidNotRetry(t *testing.T) {
	f := failOnce()
	old := ratelimit.WrapBackend(retry.Wrap(f, fast), ratelimit.New(1<<30), nil)
	data := []byte(`{"format":1,"tree":"a manifest"}`)
	err := old.Create(t.Context(), "manifests/m1", int64(len(data)), bytes.NewReader(data))
	if !errors.Is(err, storage.ErrTransient) || f.Calls(faults.OpCreate, "manifests/") != 1 {
		t.Fatalf("the old order: %v after %d attempts; want the transient error after 1",
			err, f.Calls(faults.OpCreate, "manifests/"))
	}
}

// TestStagedPutRenames: through the whole stack, limits set, a staged pack
// over the local backend is still renamed into place, also when the first
// attempt fails and retry sends it again.
func TestStagedPutRenames(t *testing.T) {
	for _, fails := range []int{0, 1} {
		t.Run(fmt.Sprint("fails=", fails), func(t *testing.T) {
			dir := t.TempDir()
			var rules []faults.Rule
			if fails > 0 {
				rules = append(rules, faults.Rule{Op: faults.OpPutStaged, Times: fails, Err: errTransient})
			}
			f := faults.New(local.New(dir), rules...)
			s := stack.Build(f, limited())
			be := s.Backend()
			staged, err := be.StageFile()
			if err != nil {
				t.Fatal(err)
			}
			data := bytes.Repeat([]byte("pack"), 1<<18)
			if _, err := staged.Write(data); err != nil {
				t.Fatal(err)
			}
			before, err := staged.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if filepath.Dir(staged.Name()) != dir {
				t.Fatalf("staged in %s, not in the repository %s", staged.Name(), dir)
			}
			if err := be.PutStaged(t.Context(), "data/ab/pack", staged); err != nil {
				t.Fatalf("PutStaged: %v", err)
			}
			after, err := os.Stat(filepath.Join(dir, "data", "ab", "pack"))
			if err != nil {
				t.Fatal(err)
			}
			if !os.SameFile(before, after) {
				t.Error("the pack was copied, not renamed into place")
			}
			if n := f.Calls(faults.OpPutStaged, ""); n != fails+1 {
				t.Errorf("%d attempts, want %d", n, fails+1)
			}
			if c := s.Counts(); c.Uploaded != int64(len(data)) {
				t.Errorf("Counts().Uploaded = %d, want %d", c.Uploaded, len(data))
			}
			if got, err := storage.ReadAll(t.Context(), be, "data/ab/pack"); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("Get after PutStaged: %d bytes, %v", len(got), err)
			}
			if c := s.Counts(); c.Downloaded != int64(len(data)) || c.Gets != 1 {
				t.Errorf("Counts() = %+v, want one Get of %d bytes", c, len(data))
			}
		})
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := stack.Open(t.Context(), dir, backends.Options{}, stack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Backend().Location(), "file://"+filepath.ToSlash(dir); got != want {
		t.Errorf("Location() = %q, want %q", got, want)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := stack.Open(t.Context(), "https://example.com/repo", backends.Options{}, stack.Options{}); !errors.Is(err, backends.ErrBadURL) {
		t.Errorf("Open of a bad URL: %v, want ErrBadURL", err)
	}
}
