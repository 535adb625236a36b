package repository_test

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// onEvent is a progress reporter that calls fn once, at the first Start
// of phase (any phase when "") or the first Advance when phase is
// "advance".
type onEvent struct {
	phase string
	once  sync.Once
	fn    func()
}

func (o *onEvent) Start(phase string, _, _ int64) {
	if o.phase == "" || o.phase == phase {
		o.once.Do(o.fn)
	}
}

func (o *onEvent) Advance(int64, int64) {
	if o.phase == "advance" {
		o.once.Do(o.fn)
	}
}

func (o *onEvent) Done() {}

// waitSignal returns an OnLockWait callback and a channel closed at its
// first call.
func waitSignal() (func(error), chan struct{}) {
	ch := make(chan struct{})
	var once sync.Once
	return func(error) { once.Do(func() { close(ch) }) }, ch
}

// forgetOldest removes the n oldest backups.
func forgetOldest(t *testing.T, repo *repository.Repository, n int) {
	t.Helper()
	backups, err := repo.Backups(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var ids []repository.ID
	for _, b := range backups[:n] {
		ids = append(ids, b.ID)
	}
	lock, err := repo.Lock(t.Context(), "forget", true)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock(t.Context())
	if err := repo.RemoveBackups(t.Context(), lock, ids); err != nil {
		t.Fatal(err)
	}
}

// buildRuns takes n backups into a new repository at dir, each run adding
// two parts and removing the previous run's.
func buildRuns(t *testing.T, dir string, root *pruneRoot, n int) {
	t.Helper()
	repo, err := repository.Init(t.Context(), local.New(dir), repository.InitOptions{PackSize: 128 << 10}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	for i := range n {
		root.addPart(t, 2*i, 2, 20<<10)
		root.addPart(t, 2*i+1, 2, 20<<10)
		if i > 0 {
			root.removePart(t, 2*(i-1))
			root.removePart(t, 2*(i-1)+1)
		}
		root.backup(t, repo, backup.Options{})
	}
}

func openRepo(t *testing.T, dir string, opts repository.Options) *repository.Repository {
	t.Helper()
	repo, err := repository.Open(t.Context(), local.New(dir), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	return repo
}

// TestPruneWaitsForRunningBackup starts prune while a backup is writing:
// prune waits for the backup's lock, the backup completes, and prune then
// deletes the forgotten data without touching the new backup's.
func TestPruneWaitsForRunningBackup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	root := newPruneRoot(t)
	buildRuns(t, dir, root, 4)
	forgetOldest(t, openRepo(t, dir, repository.Options{}), 3)
	root.addPart(t, 100, 6, 20<<10)

	onWait, waiting := waitSignal()
	pruner := openRepo(t, dir, repository.Options{LockWait: time.Minute, OnLockWait: onWait})
	var (
		res      *repository.PruneResult
		pruneErr error
		done     = make(chan struct{})
	)
	// At its first stored file the backup starts prune, and goes on only
	// once prune has found the repository locked.
	progress := &onEvent{phase: "advance", fn: func() {
		go func() {
			defer close(done)
			lock, err := pruner.Lock(t.Context(), "prune", true)
			if err != nil {
				pruneErr = err
				return
			}
			defer lock.Unlock(t.Context())
			res, pruneErr = pruner.Prune(t.Context(), lock, repository.PruneOptions{})
		}()
		<-waiting
	}}
	b := root.backup(t, openRepo(t, dir, repository.Options{}), backup.Options{Progress: progress})
	<-done
	if pruneErr != nil {
		t.Fatalf("prune: %v", pruneErr)
	}
	if res.Backups != 2 || res.PacksDeleted == 0 {
		t.Errorf("prune after the backup: %+v; want 2 backups and the forgotten packs deleted", *res)
	}
	if n := verifyAll(t, dir); n != 2 {
		t.Errorf("%d backups, want 2", n)
	}
	if _, err := openRepo(t, dir, repository.Options{}).FindBackup(t.Context(), b.ID.String()); err != nil {
		t.Errorf("the backup taken during prune: %v", err)
	}
}

// TestBackupWaitsForPrune starts a backup while prune runs, from a
// repository opened before prune (its index names blobs prune deletes):
// the backup waits for prune's lock, then must store those blobs again.
func TestBackupWaitsForPrune(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	root := newPruneRoot(t)
	buildRuns(t, dir, root, 3)
	forgetOldest(t, openRepo(t, dir, repository.Options{}), 2)
	// The first run's files (seeds 1 and 2, removed from the root since)
	// come back in a new part: bytes the stale index says are stored, and
	// that prune is about to delete as only forgotten backups had them.
	old := map[string][]byte{"f0.bin": randBytes(1, 20<<10), "f1.bin": randBytes(2, 20<<10)}
	if err := os.MkdirAll(root.partDir(200), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range old {
		if err := os.WriteFile(filepath.Join(root.partDir(200), name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	onWait, waiting := waitSignal()
	backupRepo := openRepo(t, dir, repository.Options{LockWait: time.Minute, OnLockWait: onWait})
	for _, data := range old {
		if !backupRepo.Index().Has(repository.Hash(data)) {
			t.Fatal("setup: the re-added files are not in the index before prune")
		}
	}
	var (
		res       *backup.Result
		backupErr error
		done      = make(chan struct{})
	)
	pruner := openRepo(t, dir, repository.Options{})
	lock, err := pruner.Lock(t.Context(), "prune", true)
	if err != nil {
		t.Fatal(err)
	}
	progress := &onEvent{phase: "mark", fn: func() {
		go func() {
			defer close(done)
			res, backupErr = backup.Run(t.Context(), backupRepo, backup.Options{Roots: banyandb.Roots{Root: root.root}, Workers: 1})
		}()
		<-waiting
	}}
	pres, err := pruner.Prune(t.Context(), lock, repository.PruneOptions{Progress: progress})
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if err := lock.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-done
	if backupErr != nil {
		t.Fatalf("backup: %v", backupErr)
	}
	if pres.PacksDeleted == 0 {
		t.Fatalf("prune deleted nothing: %+v", *pres)
	}
	if n := verifyAll(t, dir); n != 2 {
		t.Errorf("%d backups, want 2 (the kept one and the new one)", n)
	}
	fresh := openRepo(t, dir, repository.Options{})
	for name, data := range old {
		if !fresh.Index().Has(repository.Hash(data)) {
			t.Errorf("%s of the backup taken after prune is not stored", name)
		}
	}
	if _, err := fresh.FindBackup(t.Context(), res.ID.String()); err != nil {
		t.Error(err)
	}
}

// TestLockWaitGivesUp: a lock held longer than --lock-wait fails with
// ErrLocked, after having waited.
func TestLockWaitGivesUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	repo, err := repository.Init(t.Context(), local.New(dir), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	held, err := repo.Lock(t.Context(), "backup", false)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Unlock(t.Context())
	waits := 0
	other := openRepo(t, dir, repository.Options{LockWait: 300 * time.Millisecond, OnLockWait: func(error) { waits++ }})
	_, err = other.Lock(t.Context(), "prune", true)
	if !errors.Is(err, repository.ErrLocked) || waits == 0 {
		t.Fatalf("Lock = %v after %d waits; want ErrLocked after waiting", err, waits)
	}
	// Shared locks do not wait for each other.
	l, err := other.Lock(t.Context(), "verify", false)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock(t.Context())
}
