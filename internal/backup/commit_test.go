package backup_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// commitFixture is a repository with one backup of a root, and the root
// with a new part that the next backup must store.
func commitFixture(t *testing.T) (dir string, opts backup.Options) {
	t.Helper()
	ctx := t.Context()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	dir = filepath.Join(t.TempDir(), "repo")
	repo, err := repository.Init(ctx, local.New(dir), repository.InitOptions{PackSize: 8 << 10}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	opts = backup.Options{Roots: banyandb.Roots{Root: root}}
	if _, err := backup.Run(ctx, repo, opts); err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261122", "shard-0", "00000000000000fe")
	if err := os.Mkdir(part, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 8 {
		data := make([]byte, 24<<10)
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(part, fmt.Sprintf("f%d.bin", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, opts
}

// openAt opens the repository in dir as another process would.
func openAt(t *testing.T, be storage.Backend, o repository.Options) *repository.Repository {
	t.Helper()
	r, err := repository.Open(t.Context(), be, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// verifyClean reads every pack of every backup and fails on any problem.
func verifyClean(t *testing.T, dir string, wantBackups int) {
	t.Helper()
	res, err := openAt(t, local.New(dir), repository.Options{}).Verify(t.Context(), repository.VerifyOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) > 0 || res.Backups != wantBackups {
		t.Fatalf("verify --read-data: %d backups (want %d), problems %+v", res.Backups, wantBackups, res.Problems)
	}
}

// TestPruneBetweenUploadAndCommitLosesNothing: a backup is held after it
// stored its packs and index, before its manifest; a prune in another
// process is refused while it is held, or waits for it, and then deletes
// nothing the backup needs.
func TestPruneBetweenUploadAndCommitLosesNothing(t *testing.T) {
	ctx := t.Context()
	dir, opts := commitFixture(t)
	fb := faults.New(local.New(dir))
	pause := fb.PauseBefore(faults.OpCreate, "manifests/")
	done := make(chan error, 1)
	go func() {
		_, err := backup.Run(ctx, openAt(t, fb, repository.Options{}), opts)
		done <- err
	}()
	select {
	case <-pause.Reached():
	case err := <-done:
		t.Fatalf("the backup ended before its manifest: %v", err)
	}
	if fb.Calls(faults.OpPutStaged, "data/") == 0 {
		t.Fatal("the backup stored no pack before its manifest: nothing for a prune to delete")
	}

	// A prune that does not wait is refused.
	if _, err := openAt(t, local.New(dir), repository.Options{}).Lock(ctx, "prune", true); !errors.Is(err, repository.ErrLocked) {
		t.Fatalf("prune's lock between upload and commit: %v, want ErrLocked", err)
	}
	// A prune that waits runs once the backup is committed.
	waiting := make(chan struct{}, 1)
	pruned := make(chan error, 1)
	go func() {
		r := openAt(t, local.New(dir), repository.Options{LockWait: time.Minute, OnLockWait: func(error) {
			select {
			case waiting <- struct{}{}:
			default:
			}
		}})
		lock, err := r.Lock(ctx, "prune", true)
		if err != nil {
			pruned <- err
			return
		}
		defer lock.Unlock(ctx)
		_, err = r.Prune(ctx, lock, repository.PruneOptions{})
		pruned <- err
	}()
	<-waiting
	pause.Release()
	if err := <-done; err != nil {
		t.Fatalf("the backup held across a prune: %v", err)
	}
	if err := <-pruned; err != nil {
		t.Fatalf("the prune after the commit: %v", err)
	}
	verifyClean(t, dir, 2)
}

// TestUploadCommitAndRelease: the two steps through the public API. An
// upload is not a backup until committed, holds the lock meanwhile, and
// a released one leaves no backup and no lock.
func TestUploadCommitAndRelease(t *testing.T) {
	ctx := t.Context()
	dir, opts := commitFixture(t)
	repo := openAt(t, local.New(dir), repository.Options{})
	other := openAt(t, local.New(dir), repository.Options{})

	up, err := backup.Upload(ctx, repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	if m := up.Manifest(); m == nil || m.Summary.PacksAdded == 0 || m.Tree.IsZero() {
		t.Fatalf("the upload's manifest: %+v", m)
	}
	if bs, _ := other.Backups(ctx); len(bs) != 1 {
		t.Fatalf("an uploaded, uncommitted backup is listed: %d backups", len(bs))
	}
	if _, err := other.Lock(ctx, "prune", true); !errors.Is(err, repository.ErrLocked) {
		t.Fatalf("an exclusive lock during an upload: %v, want ErrLocked", err)
	}
	res, err := up.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Commit(ctx); err == nil {
		t.Error("a second Commit succeeded")
	}
	up.Release(ctx) // after Commit: nothing
	if b, err := other.FindBackup(ctx, res.ID.String()); err != nil || b.Tree != res.Tree {
		t.Fatalf("the committed backup: %+v, %v", b, err)
	}

	up, err = backup.Upload(ctx, repo, opts)
	if err != nil {
		t.Fatal(err)
	}
	up.Release(ctx)
	if bs, _ := other.Backups(ctx); len(bs) != 2 {
		t.Errorf("a released upload is listed: %d backups, want 2", len(bs))
	}
	lock, err := other.Lock(ctx, "prune", true)
	if err != nil {
		t.Fatalf("a released upload kept its lock: %v", err)
	}
	_ = lock.Unlock(ctx)
	verifyClean(t, dir, 2)
}

// TestCommitRefusedWhenTheLockWasRemoved: an upload whose lock another
// process removed (judging it stale) commits nothing.
func TestCommitRefusedWhenTheLockWasRemoved(t *testing.T) {
	ctx := t.Context()
	dir, opts := commitFixture(t)
	be := local.New(dir)
	up, err := backup.Upload(ctx, openAt(t, be, repository.Options{}), opts)
	if err != nil {
		t.Fatal(err)
	}
	var locks []string
	_ = be.List(ctx, "locks/", func(o storage.ObjectInfo) error { locks = append(locks, o.Name); return nil })
	for _, name := range locks {
		if err := be.Delete(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := up.Commit(ctx); !errors.Is(err, repository.ErrLockLost) {
		t.Fatalf("commit without a lock: %v, want ErrLockLost", err)
	}
	if bs, _ := openAt(t, be, repository.Options{}).Backups(ctx); len(bs) != 1 {
		t.Errorf("a commit without a lock wrote a manifest: %d backups", len(bs))
	}
}

// TestUploadStopsWhenItsLockIsRemoved removes a backup's lock while it
// stores its first pack, as `unlock` or a process that judged the lock
// stale would: the upload stops at its next pack with ErrLockLost, and
// writes no index file and no manifest after the removal (the code before
// wrote the lock again at its next pack, and committed).
func TestUploadStopsWhenItsLockIsRemoved(t *testing.T) {
	ctx := t.Context()
	dir, opts := commitFixture(t)
	// The saver stores two packs at once, each after writing the lock:
	// holding both uploads (a data pack and the next pack, data or tree)
	// leaves no lock write in flight when the test removes the lock (a
	// write already past its read-back would put it back).
	fb := faults.New(local.New(dir))
	pauses := []*faults.Pause{fb.PauseBefore(faults.OpPutStaged, "data/"), fb.PauseBefore(faults.OpPutStaged, "data/")}
	done := make(chan error, 1)
	go func() {
		_, err := backup.Run(ctx, openAt(t, fb, repository.Options{}), opts)
		done <- err
	}()
	for _, pause := range pauses {
		select {
		case <-pause.Reached():
		case err := <-done:
			t.Fatalf("the backup ended before it stored two packs: %v", err)
		}
	}
	be := local.New(dir)
	if err := os.RemoveAll(filepath.Join(dir, "locks")); err != nil {
		t.Fatal(err)
	}
	indexes, manifests := fb.Calls(faults.OpWrite, "index/"), fb.Calls(faults.OpWrite, "manifests/")
	for _, pause := range pauses {
		pause.Release()
	}
	if err := <-done; !errors.Is(err, repository.ErrLockLost) {
		t.Fatalf("a backup whose lock was removed: %v, want ErrLockLost", err)
	}
	if n := fb.Calls(faults.OpWrite, "index/") - indexes; n != 0 {
		t.Errorf("the backup wrote %d index files after its lock was removed", n)
	}
	if n := fb.Calls(faults.OpWrite, "manifests/") - manifests; n != 0 {
		t.Errorf("the backup wrote %d manifests after its lock was removed", n)
	}
	var locks []string
	_ = be.List(ctx, "locks/", func(o storage.ObjectInfo) error { locks = append(locks, o.Name); return nil })
	if len(locks) != 0 {
		t.Errorf("the backup wrote its lock again: %v", locks)
	}
	verifyClean(t, dir, 1)
}
