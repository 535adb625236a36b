//go:build unix

package sim

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// lockPaths are the locks a server holds on the 0.11 fixture.
var lockPaths = []string{"measure/data/bk_measure/lock", "stream/data/bk_stream/lock", "trace/data/bk_trace/lock",
	"property/data/lock", "schema-property/data/lock"}

// tryLock reports whether a non-blocking exclusive flock on path succeeds
// (and releases it).
func tryLock(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return true
}

func TestLocks(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	roots := banyandb.Roots{Root: s.Root()}
	for _, p := range lockPaths {
		if tryLock(t, filepath.Join(s.Root(), p)) {
			t.Errorf("%s is not locked while the simulator runs", p)
		}
	}
	if err := banyandb.CheckNotLocked(roots, nil); !errors.Is(err, banyandb.ErrLocked) {
		t.Errorf("CheckNotLocked: %v, want ErrLocked", err)
	}

	second, err := New(testConfig(s.Root()))
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot lock") {
		t.Errorf("second simulator on the same root: %v, want a lock error", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range lockPaths {
		if !tryLock(t, filepath.Join(s.Root(), p)) {
			t.Errorf("%s still locked after Stop", p)
		}
	}
	if err := banyandb.CheckNotLocked(roots, nil); err != nil {
		t.Errorf("CheckNotLocked after Stop: %v", err)
	}
}
