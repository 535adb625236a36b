package restore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/progress/progresstest"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// TestRestoreIntoNewFilesystem: a target holding only an empty lost+found,
// as a new ext4 volume does, counts as empty; lost+found is left as it
// is. One holding anything in lost+found is refused as holding data.
func TestRestoreIntoNewFilesystem(t *testing.T) {
	repo, root, b := setup(t)
	target := t.TempDir()
	lf := filepath.Join(target, "lost+found")
	if err := os.Mkdir(lf, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(lf, old, old); err != nil {
		t.Fatal(err)
	}
	if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
		t.Fatalf("restore into a target holding an empty lost+found: %v", err)
	}
	sameFiles(t, root, target)
	st, err := os.Stat(lf)
	if err != nil || !st.IsDir() || st.Mode().Perm() != 0o700 || !st.ModTime().Equal(old) {
		t.Errorf("lost+found was touched: %v %v", st, err)
	}

	target = t.TempDir()
	lf = filepath.Join(target, "lost+found")
	if err := os.MkdirAll(filepath.Join(lf, "#1234"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}}); !errors.Is(err, restore.ErrTargetNotEmpty) {
		t.Errorf("restore into a target whose lost+found holds files: %v, want it refused as holding data", err)
	}
}

// TestSelectionMatchingNoDataIsRefused: a partial restore that matches no
// data of the backup is an error, although the schema, which comes with
// any selection, would match; nothing is written.
func TestSelectionMatchingNoDataIsRefused(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo, b := backupRoot(t, root)
	for name, sel := range map[string]restore.Selection{
		"unknown group":   {Groups: []string{"no_such_group"}},
		"window":          {Catalogs: []banyandb.Catalog{banyandb.Measure}, From: utc("2030-01-01T00:00:00Z")},
		"catalog, window": {Catalogs: []banyandb.Catalog{banyandb.Stream}, To: utc("2020-01-01T00:00:00Z"), Granularity: restore.ByPart},
	} {
		target := filepath.Join(t.TempDir(), "target")
		_, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC, Selection: sel})
		if !errors.Is(err, restore.ErrNothingSelected) {
			t.Errorf("%s: %v, want ErrNothingSelected", name, err)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("%s: the refused restore created the target (%v)", name, err)
		}
	}
	// The schema asked for alone is a selection that matches.
	target := filepath.Join(t.TempDir(), "target")
	sel := restore.Selection{Catalogs: []banyandb.Catalog{banyandb.SchemaProperty}}
	if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC, Selection: sel}); err != nil {
		t.Errorf("restore of the schema alone: %v", err)
	}
}

// TestInterruptedMergeKeepsTargetsOwnData: a --merge interrupted while it
// stages, then run again, never replaces the units the target had: the
// rerun does not take them for units the first run brought.
func TestInterruptedMergeKeepsTargetsOwnData(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo, b := backupRoot(t, root)
	ctx := context.Background()
	baseDir := filepath.Join(t.TempDir(), "base")
	if _, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: baseDir}, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	ownTarget(t, baseDir, target)
	own := treeFiles(t, target)

	cctx, cancel := context.WithCancel(ctx)
	opts := restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC, Existing: restore.Merge, Workers: 1}
	opts.Progress = &progresstest.CancelAfter{N: 10, Cancel: cancel}
	if _, err := restore.Run(cctx, repo, b, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled merge returned %v", err)
	}
	opts.Progress = nil
	res, err := restore.Run(ctx, repo, b, opts)
	if err != nil {
		t.Fatalf("rerun: %v", err)
	}
	diffTrees(t, "interrupted merge, run again", expectedTree(treeFiles(t, baseDir), own, restore.Merge), treeFiles(t, target))
	var skipped int
	for _, c := range res.Conflicts {
		if c.Action == "skipped" {
			skipped++
		}
	}
	// The target had 4 of the backup's 5 measure segments, bk_prop and
	// _schema.
	if skipped != 6 || len(res.Conflicts) != 6 {
		t.Errorf("rerun reports conflicts %+v, want the 6 units the target had, skipped", res.Conflicts)
	}

	// The same restore run differently is refused: the first run's
	// policy decides what the target's own data is.
	target2 := filepath.Join(t.TempDir(), "target")
	ownTarget(t, baseDir, target2)
	cctx, cancel = context.WithCancel(ctx)
	opts.Roots.Root, opts.Progress = target2, &progresstest.CancelAfter{N: 10, Cancel: cancel}
	if _, err := restore.Run(cctx, repo, b, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled merge returned %v", err)
	}
	opts.Existing, opts.Progress = restore.Overwrite, nil
	if _, err := restore.Run(ctx, repo, b, opts); !errors.Is(err, restore.ErrTargetNotEmpty) {
		t.Errorf("an interrupted merge run again with --overwrite: %v, want it refused", err)
	}
}

// TestResumeMarkerOfOlderRelease: a target left by a release that staged
// beside it (its marker records neither phase nor units) is resumed: the
// units it holds count as moved in by that restore and are kept, the rest
// is restored.
func TestResumeMarkerOfOlderRelease(t *testing.T) {
	repo, root, b := setup(t)
	base := filepath.Join(t.TempDir(), "base")
	if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: base}}); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	copyTree(t, filepath.Join(base, "measure"), filepath.Join(target, "measure"))
	if err := os.WriteFile(filepath.Join(target, restore.MarkerName), []byte(`{"backup":"`+b.ID.String()+`","started":"2026-12-01T00:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, policy := range []restore.ExistingPolicy{restore.Merge, restore.RefuseExisting} {
		if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Existing: policy}); err != nil {
			t.Fatalf("resume (policy %q) of a restore an older release began: %v", policy, err)
		}
		sameFiles(t, root, target)
		if got := treeFiles(t, target)[restore.MarkerName]; got != "" {
			t.Errorf("marker left after the resumed restore")
		}
		if policy == restore.Merge { // again, as a plain restore
			if err := os.RemoveAll(filepath.Join(target, "stream")); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(target, restore.MarkerName), []byte(`{"backup":"`+b.ID.String()+`"}`), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
