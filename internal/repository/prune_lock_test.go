package repository_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// TestPruneStopsWhenItsLockIsLost removes prune's lock (as `unlock` or a
// process that judged it stale would) as prune starts each phase: prune
// must fail with ErrLockLost and delete nothing from then on, leaving every
// backup readable.
func TestPruneStopsWhenItsLockIsLost(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base")
	root := newPruneRoot(t)
	buildRuns(t, base, root, 8)
	forgetOldest(t, openRepo(t, base, repository.Options{}), 5)

	for _, phase := range []string{"mark", "repack", "delete index", "delete packs"} {
		t.Run(phase, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			copyDir(t, base, dir)
			be := local.New(dir)
			repo := openRepo(t, dir, repository.Options{})
			lock, err := repo.Lock(t.Context(), "prune", true)
			if err != nil {
				t.Fatal(err)
			}
			defer lock.Unlock(t.Context())
			var kept map[string]int64
			removeLock := &onEvent{phase: phase, fn: func() {
				kept = listAll(t, be)
				if err := os.RemoveAll(filepath.Join(dir, "locks")); err != nil {
					t.Error(err)
				}
			}}
			_, err = repo.Prune(t.Context(), lock, repository.PruneOptions{Progress: removeLock})
			if len(kept) == 0 {
				t.Fatalf("prune never started phase %q (err %v)", phase, err)
			}
			if !errors.Is(err, repository.ErrLockLost) {
				t.Fatalf("prune whose lock was removed at %q: %v, want ErrLockLost", phase, err)
			}
			now := listAll(t, be)
			for name := range kept {
				if _, ok := now[name]; !ok && filepath.Dir(name) != "locks" {
					t.Errorf("prune deleted %s after its lock was removed", name)
				}
			}
			if n := verifyAll(t, dir); n != 3 {
				t.Errorf("%d backups after the stopped prune, want 3", n)
			}
		})
	}
}

// listAll lists every object of be with its size.
func listAll(t *testing.T, be storage.Backend) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	if err := be.List(t.Context(), "", func(o storage.ObjectInfo) error {
		out[o.Name] = o.Size
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}
