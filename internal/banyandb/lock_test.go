//go:build unix

package banyandb_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// hold flocks path (creating it) until the returned func is called.
func hold(t *testing.T, path string) func() {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return func() {
		if err := unix.Flock(int(f.Fd()), unix.LOCK_UN); err != nil {
			t.Error(err)
		}
		f.Close()
	}
}

func TestCheckNotLocked(t *testing.T) {
	t.Parallel()
	top := fixture.ForTest(t, fixture.V011)
	roots := banyandb.Roots{Root: filepath.Join(top, "data")}
	// The fixtures' property/data/lock and schema-property/data/lock are not held.
	if err := banyandb.CheckNotLocked(roots, nil); err != nil {
		t.Fatalf("stopped node: %v", err)
	}
	tests := []struct {
		name     string
		lock     string
		catalogs []banyandb.Catalog
		locked   bool
	}{
		{"group lock", "measure/data/bk_measure/lock", nil, true},
		{"group lock, its catalog", "measure/data/bk_measure/lock", []banyandb.Catalog{banyandb.Measure}, true},
		{"group lock, other catalog", "measure/data/bk_measure/lock", []banyandb.Catalog{banyandb.Stream}, false},
		{"data-level lock", "property/data/lock", nil, true},
		{"schema lock", "schema-property/data/lock", []banyandb.Catalog{banyandb.SchemaProperty}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(roots.Root, filepath.FromSlash(tc.lock))
			release := hold(t, path)
			err := banyandb.CheckNotLocked(roots, tc.catalogs)
			release()
			if !tc.locked {
				if err != nil {
					t.Fatalf("err %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, banyandb.ErrLocked) {
				t.Fatalf("err %v, want ErrLocked", err)
			}
			for _, want := range []string{path, "--node", "running"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
			if err := banyandb.CheckNotLocked(roots, tc.catalogs); err != nil {
				t.Errorf("after release: %v", err)
			}
		})
	}
	t.Run("two locks", func(t *testing.T) {
		r1 := hold(t, filepath.Join(roots.Root, "stream", "data", "bk_stream", "lock"))
		defer r1()
		r2 := hold(t, filepath.Join(roots.Root, "trace", "data", "bk_trace", "lock"))
		defer r2()
		err := banyandb.CheckNotLocked(roots, nil)
		if !errors.Is(err, banyandb.ErrLocked) || !strings.Contains(err.Error(), "bk_stream") || !strings.Contains(err.Error(), "bk_trace") {
			t.Errorf("err %v, want both locks named", err)
		}
	})
	t.Run("missing root", func(t *testing.T) {
		if err := banyandb.CheckNotLocked(banyandb.Roots{Root: filepath.Join(t.TempDir(), "nope")}, nil); err != nil {
			t.Errorf("err %v, want nil", err)
		}
	})
}
