package restore_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/progress/progresstest"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/storage/counting"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

func setup(t *testing.T) (*repository.Repository, string, repository.Backup) {
	repo, root, b, _ := setupDir(t)
	return repo, root, b
}

// setupDir is setup that also returns the repository's directory.
func setupDir(t *testing.T) (*repository.Repository, string, repository.Backup, string) {
	t.Helper()
	ctx := context.Background()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	dir := filepath.Join(t.TempDir(), "repo")
	// Small packs so that a restore needs many of them.
	repo, err := repository.Init(ctx, local.New(dir), repository.InitOptions{PackSize: 16 << 10}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	res, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}})
	if err != nil {
		t.Fatal(err)
	}
	return repo, root, repository.Backup{ID: res.ID, Manifest: res.Manifest}, dir
}

// TestInterruptedRestoreIsMarkedAndResumed: an interrupted restore leaves
// the target holding its marker and the staging directory inside it, and
// nothing beside it; a rerun keeps the files already staged.
func TestInterruptedRestoreIsMarkedAndResumed(t *testing.T) {
	repo, root, b := setup(t)
	target := filepath.Join(t.TempDir(), "target")
	staging := filepath.Join(target, restore.StagingName)

	ctx, cancel := context.WithCancel(context.Background())
	_, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Workers: 1, Progress: &progresstest.CancelAfter{N: 40, Cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore returned %v", err)
	}
	// The target holds nothing but the marker saying it is incomplete and
	// the staging directory.
	ents, err := os.ReadDir(target)
	if err != nil || len(ents) != 2 || ents[0].Name() != restore.StagingName || ents[1].Name() != restore.MarkerName {
		t.Fatalf("interrupted restore: target holds %v (%v), want only %s and %s", ents, err, restore.StagingName, restore.MarkerName)
	}
	if m, _ := os.ReadFile(filepath.Join(target, restore.MarkerName)); !bytes.Contains(m, []byte(b.ID.String())) {
		t.Fatalf("target marker does not name the backup: %q", m)
	}
	if ents, _ := os.ReadDir(filepath.Dir(target)); len(ents) != 1 {
		t.Errorf("the interrupted restore left %d entries beside the target, want none", len(ents)-1)
	}

	res, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}})
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	if res.FilesResumed < 20 {
		t.Errorf("rerun kept %d files from the interrupted restore, want the ≥20 it completed", res.FilesResumed)
	}
	if _, err := os.Stat(staging); !os.IsNotExist(err) {
		t.Errorf("staging directory left after a complete restore: %v", err)
	}
	if _, err := os.Stat(filepath.Join(target, restore.MarkerName)); !os.IsNotExist(err) {
		t.Errorf("marker left after a complete restore: %v", err)
	}
	sameFiles(t, root, target)
}

func TestRestoreOfAnotherBackupRefusesForeignMarker(t *testing.T) {
	repo, _, b := setup(t)
	target := filepath.Join(t.TempDir(), "target")
	if err := os.MkdirAll(filepath.Join(target, restore.StagingName), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, restore.MarkerName), []byte(`{"backup":"0123456789abcdef","phase":"staging"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}}); err == nil {
		t.Fatal("restore over another backup's interrupted restore succeeded")
	}
	if m, _ := os.ReadFile(filepath.Join(target, restore.MarkerName)); !bytes.Contains(m, []byte("0123456789abcdef")) {
		t.Error("the other restore's marker was touched")
	}
}

func TestRestoreIntoEmptyExistingDirectory(t *testing.T) {
	repo, root, b := setup(t)
	target := t.TempDir() // exists, empty
	if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, root, target)
	if _, err := os.Stat(filepath.Join(target, restore.StagingName)); !os.IsNotExist(err) {
		t.Error("staging directory left behind")
	}
}

// sameFiles checks that every file of the source data trees is restored
// with the same bytes, mode and modification time.
func sameFiles(t *testing.T, src, dst string) {
	t.Helper()
	sameFilesIn(t, src, banyandb.Roots{Root: dst})
}

// sameFilesIn is sameFiles for a restore into roots.
func sameFilesIn(t *testing.T, src string, dst banyandb.Roots) {
	t.Helper()
	layout, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: src}, banyandb.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range layout.Files {
		a, err := os.ReadFile(filepath.Join(src, string(f.Catalog), "data", f.Path))
		if err != nil {
			t.Fatal(err)
		}
		got := filepath.Join(dst.DataDir(f.Catalog), f.Path)
		b, err := os.ReadFile(got)
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s/%s: restored content differs (%v)", f.Catalog, f.Path, err)
		}
		st, err := os.Lstat(got)
		switch {
		case err != nil:
			t.Error(err)
		case st.Mode() != f.Mode || !st.ModTime().Equal(f.ModTime):
			t.Errorf("%s/%s: restored with mode %v and time %v, want %v and %v", f.Catalog, f.Path, st.Mode(), st.ModTime(), f.Mode, f.ModTime)
		}
	}
}

// TestResumedRestoreDoesNotDownloadCompleteFilesAgain: the rerun of an
// interrupted restore reads from the repository only what the files it
// still lacks need, verification included.
func TestResumedRestoreDoesNotDownloadCompleteFilesAgain(t *testing.T) {
	_, _, b, repoDir := setupDir(t)
	ctx := context.Background()
	// The repository, reopened through a counting backend, and the bytes
	// read through it since it was opened.
	open := func() (*repository.Repository, func() int64) {
		be := counting.Wrap(local.New(repoDir))
		repo, err := repository.Open(ctx, be, repository.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(repo.Close)
		opened := be.Counts().Downloaded
		return repo, func() int64 { return be.Counts().Downloaded - opened }
	}

	repo, read := open()
	if _, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: filepath.Join(t.TempDir(), "whole")}}); err != nil {
		t.Fatal(err)
	}
	whole := read()

	target := filepath.Join(t.TempDir(), "target")
	cctx, cancel := context.WithCancel(ctx)
	repo, _ = open()
	_, err := restore.Run(cctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Workers: 1, Progress: &progresstest.CancelAfter{N: 150, Cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore returned %v", err)
	}
	repo, read = open()
	res, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("whole restore read %d bytes; the rerun kept %d of %d files and read %d", whole, res.FilesResumed, res.Files, read())
	if res.FilesResumed == 0 || read() >= whole {
		t.Errorf("the rerun kept %d files and read %d bytes, a whole restore %d: complete files were downloaded again", res.FilesResumed, read(), whole)
	}
}
