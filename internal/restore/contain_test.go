package restore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/progress/progresstest"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// tree lists every path below dir with its type and, for files, content.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		what := d.Type().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			what = string(b)
		}
		out[p] = what
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTree(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	if len(before) != len(after) {
		t.Errorf("%s: %d paths, was %d", what, len(after), len(before))
	}
	for p, v := range after {
		if w, ok := before[p]; !ok || w != v {
			t.Errorf("%s: %s created or changed", what, p)
		}
	}
}

// TestRestoreNeverWritesThroughTargetLinks: a restore with --merge or
// --overwrite into a target where a group, or a segment, is a symbolic
// link to a directory elsewhere is refused, dry run included, and writes
// nothing, there or in the target.
func TestRestoreNeverWritesThroughTargetLinks(t *testing.T) {
	repo, _, b := setup(t)
	for _, link := range []string{"measure/data/bk_measure", "measure/data/bk_measure/seg-20261119"} {
		for _, policy := range []restore.ExistingPolicy{restore.Merge, restore.Overwrite} {
			t.Run(strings.ReplaceAll(link, "/", "_")+"_"+string(policy), func(t *testing.T) {
				base := t.TempDir()
				target := filepath.Join(base, "target")
				if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
					t.Fatal(err)
				}
				elsewhere := filepath.Join(base, "elsewhere")
				if err := os.Mkdir(elsewhere, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.RemoveAll(filepath.Join(target, link)); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(elsewhere, filepath.Join(target, link)); err != nil {
					t.Fatal(err)
				}
				before := tree(t, base)
				for _, dry := range []bool{true, false} {
					_, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Existing: policy, DryRun: dry})
					if err == nil || !strings.Contains(err.Error(), filepath.Join(target, link)+": it is a symbolic link") {
						t.Errorf("restore (dry run %v) through a link: %v", dry, err)
					}
					sameTree(t, "refused restore", before, tree(t, base))
				}
			})
		}
	}
}

// TestRestoreThroughALinkedDataDirectory: the data directory and the
// directories above it are the operator's layout: a data directory that
// is a link to another disk is restored into.
func TestRestoreThroughALinkedDataDirectory(t *testing.T) {
	repo, root, b := setup(t)
	base := t.TempDir()
	target := filepath.Join(base, "target")
	disk := filepath.Join(base, "disk")
	for _, d := range []string{filepath.Join(target, "measure"), disk} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(disk, filepath.Join(target, "measure", "data")); err != nil {
		t.Fatal(err)
	}
	if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Existing: restore.Merge}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, root, target)
	if _, err := os.Stat(filepath.Join(disk, "bk_measure", "seg-20261119")); err != nil {
		t.Errorf("the measure data did not go to the linked directory: %v", err)
	}
}

// TestResumedRestoreNeverWritesThroughStagingLinks: a staging directory
// left by an interrupted restore, in which a directory was replaced by a
// link to elsewhere, makes the rerun fail without writing there.
func TestResumedRestoreNeverWritesThroughStagingLinks(t *testing.T) {
	repo, _, b := setup(t)
	base := t.TempDir()
	target := filepath.Join(base, "target")
	staging := filepath.Join(target, restore.StagingName)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Workers: 1, Progress: &progresstest.CancelAfter{N: 40, Cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore returned %v", err)
	}
	elsewhere := filepath.Join(base, "elsewhere")
	if err := os.Mkdir(elsewhere, 0o755); err != nil {
		t.Fatal(err)
	}
	group := filepath.Join(staging, "measure", "data", "bk_measure")
	if err := os.RemoveAll(group); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, group); err != nil {
		t.Fatal(err)
	}
	_, err = restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}})
	if err == nil || !strings.Contains(err.Error(), "cannot create directory "+group+": something else is there") {
		t.Fatalf("rerun through a link in staging: %v", err)
	}
	if ents, err := os.ReadDir(elsewhere); err != nil || len(ents) > 0 {
		t.Errorf("the rerun wrote %d entries through the link (%v)", len(ents), err)
	}
}

// TestPartSelectionBoundsThePartList: a part restore reads the newest
// .snp of each shard; one larger than any real part list is refused
// unread.
func TestPartSelectionBoundsThePartList(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	shard := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261120", "shard-0")
	huge := `["0000000000000001"` + strings.Repeat(" ", banyandb.MaxMetadataSize) + `]`
	if err := os.WriteFile(filepath.Join(shard, "ffffffffffffffff.snp"), []byte(huge), 0o644); err != nil {
		t.Fatal(err)
	}
	repo, b := backupRoot(t, root)
	_, err := restore.Run(context.Background(), repo, b, restore.Options{
		Roots: banyandb.Roots{Root: filepath.Join(t.TempDir(), "target")}, Location: time.UTC, DryRun: true,
		Selection: restore.Selection{Catalogs: []banyandb.Catalog{banyandb.Measure}, Groups: []string{"bk_measure"},
			From: utc("2026-11-20T06:10:00Z"), To: utc("2026-11-20T06:20:00Z"), Granularity: restore.ByPart},
	})
	want := "cannot read part list measure/bk_measure/seg-20261120/shard-0/ffffffffffffffff.snp: it holds 1048596 bytes, more than the 1048576 (1 MiB)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("part restore with a huge .snp: %v, want %q", err, want)
	}
}
