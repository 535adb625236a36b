//go:build linux

package restore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// names lists a directory's entries.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestRestoreIntoMountPoints restores into a target that is a mount point
// (a tmpfs, as a volume or a dedicated disk would be) with the measure
// catalog's root another one: the restore succeeds, leaves nothing beside
// either, and a restore killed at any step resumes when run again.
func TestRestoreIntoMountPoints(t *testing.T) {
	repo, root, b := setup(t)
	parent := t.TempDir()
	mounts := func(name string) banyandb.Roots {
		roots := banyandb.Roots{Root: filepath.Join(parent, name), Override: map[banyandb.Catalog]string{banyandb.Measure: filepath.Join(parent, name+"-measure")}}
		for _, dir := range []string{roots.Root, roots.Override[banyandb.Measure]} {
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			needTmpfs(t, dir)
		}
		return roots
	}
	ctx := context.Background()
	run := func(roots banyandb.Roots, hook func(string) error) error {
		opts := restore.Options{Roots: roots, Location: time.UTC, Verify: restore.VerifyQuick}
		if hook != nil {
			restore.SetStepHook(&opts, hook)
		}
		_, err := restore.Run(ctx, repo, b, opts)
		return err
	}
	// nothingElse checks that the roots hold their catalogs and nothing
	// of the restore's own.
	nothingElse := func(what string, roots banyandb.Roots) {
		t.Helper()
		if got := strings.Join(names(t, roots.Root), " "); got != "property schema-property stream trace" {
			t.Errorf("%s: the target holds %s", what, got)
		}
		if got := strings.Join(names(t, roots.Override[banyandb.Measure]), " "); got != "measure" {
			t.Errorf("%s: the measure root holds %s", what, got)
		}
	}

	roots := mounts("whole")
	var steps []string
	if err := run(roots, killAt(0, &steps)); err != nil {
		t.Fatalf("restore into mount points: %v", err)
	}
	sameFilesIn(t, root, roots)
	nothingElse("restore into mount points", roots)
	if got := len(names(t, parent)); got != 2 {
		t.Errorf("the restore left %d entries beside the mount points", got-2)
	}

	for k := 1; k < len(steps); k++ {
		name := "killed-" + string(rune('a'+k))
		roots := mounts(name)
		var seen []string
		if err := run(roots, killAt(k, &seen)); !errors.Is(err, errKill) {
			t.Fatalf("kill at step %d (%s): the restore returned %v", k, steps[k-1], err)
		}
		if err := run(roots, nil); err != nil {
			t.Fatalf("killed at step %d (%s): the rerun failed: %v", k, steps[k-1], err)
		}
		sameFilesIn(t, root, roots)
		nothingElse("killed at step "+steps[k-1], roots)
	}
	if got := len(names(t, parent)); got != 2*len(steps) {
		t.Errorf("the restores left %d entries beside the mount points", got-2*len(steps))
	}
	t.Logf("%d kills at the steps %s", len(steps)-1, strings.Join(steps[:len(steps)-1], ", "))
}

// TestRestoreRefusesMountBelowRoot: a catalog directory that is a mount
// point below the target cannot receive renames from the staging directory
// in the root; the restore (--merge, as the empty measure directory counts
// as data) says so before writing anything.
func TestRestoreRefusesMountBelowRoot(t *testing.T) {
	repo, _, b := setup(t)
	target := t.TempDir()
	measure := filepath.Join(target, "measure")
	if err := os.Mkdir(measure, 0o755); err != nil {
		t.Fatal(err)
	}
	needTmpfs(t, measure)
	_, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Existing: restore.Merge})
	if err == nil || !strings.Contains(err.Error(), measure+" is on another filesystem") {
		t.Fatalf("restore into a root whose measure directory is a mount point: %v", err)
	}
	if got := strings.Join(names(t, target), " "); got != "measure" {
		t.Errorf("the refused restore wrote into the target: it holds %s", got)
	}
}
