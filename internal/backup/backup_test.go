package backup_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/progress/progresstest"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

func TestCancelledBackupIsNotListedAndRepositoryVerifies(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	dir := filepath.Join(t.TempDir(), "repo")
	repo, err := repository.Init(ctx, local.New(dir), repository.InitOptions{PackSize: 8 << 10}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	if _, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}}); err != nil {
		t.Fatal(err)
	}
	// New data so that the second backup stores packs, then cancel it
	// halfway through the new files.
	part := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261122", "shard-0", "00000000000000ff")
	if err := os.Mkdir(part, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		data := make([]byte, 32<<10)
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(part, fmt.Sprintf("f%02d.bin", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	packsBefore := countFiles(t, filepath.Join(dir, "data"))
	cctx, cancel := context.WithCancel(ctx)
	_, err = backup.Run(cctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Workers: 1, Progress: &progresstest.CancelAfter{N: 20, Cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled backup returned %v", err)
	}
	if countFiles(t, filepath.Join(dir, "data")) == packsBefore {
		t.Fatal("the cancelled backup stored no pack: it was not cancelled midway")
	}
	reopened, err := repository.Open(ctx, local.New(dir), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reopened.Close()
	backups, err := reopened.Backups(ctx)
	if err != nil || len(backups) != 1 {
		t.Fatalf("after a cancelled backup the repository lists %d backups (%v), want 1", len(backups), err)
	}
	res, err := reopened.Verify(ctx, repository.VerifyOptions{ReadData: true})
	if err != nil || len(res.Problems) > 0 {
		t.Fatalf("verify after a cancelled backup: %v %v", err, res.Problems)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "locks")); len(ents) != 0 {
		t.Errorf("a cancelled backup left %d locks", len(ents))
	}
}

func countFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestBackupRefusesRootHeldByServer(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	lockPath := filepath.Join(root, "measure", "data", "bk_measure", "lock")
	fh, err := os.Create(lockPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	flockExclusive(t, fh)
	dir := filepath.Join(t.TempDir(), "repo")
	repo, err := repository.Init(ctx, local.New(dir), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	_, err = backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}})
	if !errors.Is(err, banyandb.ErrLocked) {
		t.Fatalf("backup of a locked root returned %v, want ErrLocked", err)
	}
	if backups, _ := repo.Backups(ctx); len(backups) != 0 {
		t.Errorf("a refused backup is listed")
	}
}

// TestChangedPartDirectoryIsWalkedAgain: an unchanged part directory is
// reused unread, but one whose contents changed (its modification time
// moves) is walked and its new file read.
func TestChangedPartDirectoryIsWalkedAgain(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo, err := repository.Init(ctx, local.New(filepath.Join(t.TempDir(), "repo")), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	first, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}})
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261120", "shard-1", "0000000000000001")
	if err := os.WriteFile(filepath.Join(part, "extra.bin"), []byte("not from BanyanDB"), 0o644); err != nil {
		t.Fatal(err)
	}
	second, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}})
	if err != nil {
		t.Fatal(err)
	}
	s := second.Manifest.Summary
	if s.FilesRead != 1 || s.Files != first.Manifest.Summary.Files+1 || s.FilesUnchanged != first.Manifest.Summary.Files {
		t.Errorf("after adding a file to a part: read %d, files %d, unchanged %d; want 1, %d, %d",
			s.FilesRead, s.Files, s.FilesUnchanged, first.Manifest.Summary.Files+1, first.Manifest.Summary.Files)
	}
	found := false
	err = repo.Walk(ctx, second.Manifest.Tree, func(p string, n *repository.Node) error {
		found = found || strings.HasSuffix(p, "0000000000000001/extra.bin")
		return nil
	})
	if err != nil || !found {
		t.Errorf("the new file is not in the backup (%v)", err)
	}
}

// TestParentIsOfTheSameNode backs up one root as two nodes (--host), as
// when several nodes with their data at the same path are backed up into
// one repository: the second node's backup must not take the first's as
// its parent (it would reuse files wherever inode and times agree), and
// each node's next backup takes its own previous one.
func TestParentIsOfTheSameNode(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo, err := repository.Init(ctx, local.New(filepath.Join(t.TempDir(), "repo")), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	run := func(host string) *backup.Result {
		t.Helper()
		res, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Host: host})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	a := run("data-0:17912")
	b := run("data-1:17912")
	if b.Manifest.Parent != nil || b.Manifest.Summary.FilesUnchanged != 0 {
		t.Errorf("data-1's first backup: parent %v, %d files unchanged; want no parent, none", b.Manifest.Parent, b.Manifest.Summary.FilesUnchanged)
	}
	a2 := run("data-0:17912")
	if a2.Manifest.Parent == nil || *a2.Manifest.Parent != a.ID || a2.Manifest.Summary.FilesRead != 0 {
		t.Errorf("data-0's second backup: parent %v, %d files read; want %s, none", a2.Manifest.Parent, a2.Manifest.Summary.FilesRead, a.ID.Short())
	}
}
