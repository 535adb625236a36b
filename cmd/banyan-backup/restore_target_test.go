package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// TestResumedRestoreReadsNoReleaseFromItsOwnData: a plain restore into a
// new target, killed after it moved the measure catalog in, is resumed by
// the same command. The release is read from what the target had before
// (nothing), not from the moved-in segments, whose format 1.5.0 would read
// as "0.10.3 or 0.11" and refuse a 0.11 backup.
func TestResumedRestoreReadsNoReleaseFromItsOwnData(t *testing.T) {
	src := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, src)
	base := filepath.Join(t.TempDir(), "base")
	mustRun(t, "restore", b.ID, "--repo", repo, "--target", base)

	// The state docs/restore.md describes after a kill in the move: the
	// marker (phase moving, the target recorded without data), one
	// catalog moved in.
	target := filepath.Join(t.TempDir(), "target")
	if err := os.MkdirAll(filepath.Join(target, ".banyan-restore"), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", filepath.Join(base, "measure"), filepath.Join(target, "measure")).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
	marker := fmt.Sprintf(`{"backup":%q,"started":"2026-12-01T00:00:00Z","phase":"moving","roots":{%q:{}}}`, b.ID, target)
	if err := os.WriteFile(filepath.Join(target, "RESTORE-IN-PROGRESS"), []byte(marker), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "restore", b.ID, "--repo", repo, "--target", target)
	compareTrees(t, src, target)
	if got := strings.Join(dirNames(t, target), " "); got != "measure property schema-property stream trace" {
		t.Errorf("the resumed restore left %s in the target", got)
	}
}

func dirNames(t *testing.T, dir string) []string {
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

// TestRestoreSelectionMatchingNoDataExit2: a partial restore that selects
// no data of the backup (the schema would come along alone) is a usage
// error, and nothing is written.
func TestRestoreSelectionMatchingNoDataExit2(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, fixtureRoot(t, fixture.V011))
	target := filepath.Join(t.TempDir(), "target")
	for _, sel := range [][]string{{"--group", "no_such_group"}, {"--catalog", "measure", "--from", "2030-01-01"}} {
		r := run(t, append([]string{"restore", b.ID, "--repo", repo, "--target", target}, sel...)...)
		if r.code != 2 || !strings.Contains(r.stderr, "matches nothing") {
			t.Errorf("restore %v: exit %d, stderr %q; want 2 saying the selection matches nothing", sel, r.code, r.stderr)
		}
		if _, err := os.Stat(target); !os.IsNotExist(err) {
			t.Errorf("restore %v created the target: %v", sel, err)
		}
	}
}
