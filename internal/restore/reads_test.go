package restore_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// TestRestoreInRangedReadsSurvivesCutDownloads: with ranged pack reads (as
// from an object store), a restore reads the packs in several ranges and
// asks again for a range whose download is cut off midway.
func TestRestoreInRangedReadsSurvivesCutDownloads(t *testing.T) {
	_, root, b, repoDir := setupDir(t)
	// Gets of packs by a restore, without and with ranged reads.
	// The rules apply once the restore writes, after it read the trees.
	gets := func(reads repository.PackReads, rules ...faults.Rule) int {
		be := faults.New(local.New(repoDir))
		repo, err := repository.Open(context.Background(), be, repository.Options{PackReads: reads})
		if err != nil {
			t.Fatal(err)
		}
		defer repo.Close()
		before := be.Calls(faults.OpGet, "data/")
		target := filepath.Join(t.TempDir(), "target")
		opts := restore.Options{Roots: banyandb.Roots{Root: target}}
		restore.SetStepHook(&opts, func(step string) error {
			if step == "staging created" {
				be.SetRules(rules...)
			}
			return nil
		})
		if _, err := restore.Run(context.Background(), repo, b, opts); err != nil {
			t.Fatal(err)
		}
		sameFiles(t, root, target)
		return be.Calls(faults.OpGet, "data/") - before
	}
	whole := gets(repository.PackReads{})
	cut := errors.Join(storage.ErrTransient, errors.New("connection reset"))
	ranged := gets(repository.PackReads{Chunk: 4096, Parallel: 3},
		faults.Rule{Op: faults.OpGet, Prefix: "data/", After: 2, Times: 2, Err: cut, Short: true})
	t.Logf("pack Gets: %d reading whole packs, %d in ranges", whole, ranged)
	if ranged <= whole {
		t.Errorf("%d Gets in ranges, %d reading whole packs: the packs were not read in ranges", ranged, whole)
	}
}

// TestCutDownloadIsNotDamage: a download that keeps being cut off midway
// fails the restore as a read error, not as a damaged repository (exit 3),
// and the staged files stay for a rerun, which completes the restore.
func TestCutDownloadIsNotDamage(t *testing.T) {
	_, root, b, repoDir := setupDir(t)
	be := faults.New(local.New(repoDir))
	repo, err := repository.Open(context.Background(), be, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	target := filepath.Join(t.TempDir(), "target")
	opts := restore.Options{Roots: banyandb.Roots{Root: target}, Workers: 1}
	restore.SetStepHook(&opts, func(step string) error {
		if step == "staging created" { // the trees are read: cut the packs' downloads
			be.SetRules(faults.Rule{Op: faults.OpGet, Prefix: "data/", After: 3, Err: errors.New("connection reset"), Short: true})
		}
		return nil
	})
	_, err = restore.Run(context.Background(), repo, b, opts)
	if err == nil || errors.Is(err, repository.ErrIntegrity) {
		t.Fatalf("restore through cut downloads: %v, want a read error that is not ErrIntegrity", err)
	}
	if tree := treeOf(t, filepath.Join(target, restore.StagingName)); len(tree) == 0 {
		t.Error("the staging directory was removed: a read error is not damage")
	}
	be.SetRules()
	restore.SetStepHook(&opts, func(string) error { return nil })
	if _, err := restore.Run(context.Background(), repo, b, opts); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, root, target)
}
