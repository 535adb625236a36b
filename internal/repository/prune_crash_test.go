package repository_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// TestPruneCrashAnywhere stops prune after its k-th write or delete, for
// every k (as if the process died there), and checks that
// the repository is still consistent: every backup verifies with
// --read-data, and a new prune finishes the work.
func TestPruneCrashAnywhere(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base")
	root := newPruneRoot(t)
	buildRuns(t, base, root, 8)
	forgetOldest(t, openRepo(t, base, repository.Options{}), 5)

	// A clean prune counts the steps.
	clean := filepath.Join(t.TempDir(), "clean")
	copyDir(t, base, clean)
	total, res := crashPrune(t, clean, -1)
	if res == nil || res.PacksRepacked == 0 || res.PacksUnused == 0 || res.IndexFilesDeleted == 0 {
		t.Fatalf("the scenario does not exercise every step: %+v", res)
	}
	t.Logf("a clean prune takes %d writes and deletes: %+v", total, *res)

	for k := range total {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			copyDir(t, base, dir)
			if _, res := crashPrune(t, dir, k); res != nil {
				t.Fatalf("prune did not stop at step %d", k)
			}
			// The crashed process is gone: its lock is left behind, which
			// `unlock` would remove as stale.
			if err := os.RemoveAll(filepath.Join(dir, "locks")); err != nil {
				t.Fatal(err)
			}
			if n := verifyAll(t, dir); n != 3 {
				t.Errorf("after a crash at step %d: %d backups, want 3", k, n)
			}
			repo := openRepo(t, dir, repository.Options{})
			pruneOnce(t, repo)
			if n := verifyAll(t, dir); n != 3 {
				t.Errorf("after the crash and a new prune: %d backups, want 3", n)
			}
			if again := pruneOnce(t, repo); again.PacksDeleted != 0 || again.PacksWritten != 0 {
				t.Errorf("the prune after the crash left work: %+v", *again)
			}
		})
	}
}

// crashPrune prunes dir through a backend that fails every write and
// delete after the first k (k < 0: none fail), over the local backend's
// own paths (staged packs are renamed into place). It returns how many
// writes and deletes prune made, and prune's result (nil when it failed).
func crashPrune(t *testing.T, dir string, k int) (int, *repository.PruneResult) {
	t.Helper()
	be := faults.New(local.New(dir))
	repo, err := repository.Open(t.Context(), be, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	lock, err := repo.Lock(t.Context(), "prune", true)
	if err != nil {
		t.Fatal(err)
	}
	start := be.Writes()
	if k >= 0 {
		be.CrashAfter(k)
	}
	res, err := repo.Prune(t.Context(), lock, repository.PruneOptions{})
	steps := be.Writes() - start
	if err != nil {
		if !errors.Is(err, faults.ErrCrashed) {
			t.Fatalf("prune failed with %v, not the simulated crash", err)
		}
		_ = lock.Unlock(t.Context()) // fails too: the lock stays, as after a crash
		return steps, nil
	}
	if err := lock.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := be.Calls(faults.OpPutStaged, "data/"); n != res.PacksWritten {
		t.Fatalf("%d packs written, %d of them staged: the test misses the staged path", res.PacksWritten, n)
	}
	return steps, res
}
