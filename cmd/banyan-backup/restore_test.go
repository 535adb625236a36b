package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// TestRestoreIntoRunningNodeRefused: a target whose group locks a running
// banyand-sim holds is refused, saying to stop the node, even with --merge;
// nothing in it changes.
func TestRestoreIntoRunningNodeRefused(t *testing.T) {
	src := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, src)

	nodeRoot := fixtureRoot(t, fixture.V011)
	startSim(t, nodeRoot, true)
	before := listDataTrees(t, nodeRoot)

	for _, extra := range [][]string{nil, {"--merge"}} {
		args := append([]string{"restore", b.ID, "--repo", repo, "--target", nodeRoot}, extra...)
		r := run(t, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "stop the node") || !strings.Contains(r.stderr, "lock") {
			t.Errorf("restore %v into a running node: exit %d, stderr %q; want 1 naming the lock and saying to stop the node", extra, r.code, r.stderr)
		}
	}
	if after := listDataTrees(t, nodeRoot); len(after) != len(before) {
		t.Errorf("a refused restore changed the node's data: %d entries, was %d", len(after), len(before))
	}
	if _, err := os.Stat(filepath.Join(nodeRoot, "RESTORE-IN-PROGRESS")); !os.IsNotExist(err) {
		t.Errorf("a refused restore marked the target: %v", err)
	}
}

// TestRestoreDryRunAndPartial: --dry-run prints the plan and writes
// nothing; the partial restore of one group over two days brings exactly
// those segments and the schema, and passes check.
func TestRestoreDryRunAndPartial(t *testing.T) {
	src := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, src)
	target := filepath.Join(t.TempDir(), "target")
	args := []string{"restore", b.ID, "--repo", repo, "--target", target, "--catalog", "measure", "--group", "bk_measure",
		"--from", "2026-11-20", "--to", "2026-11-21", "--time-zone", "UTC"}

	out := mustRun(t, append(args, "--dry-run")...)
	for _, want := range []string{"measure/bk_measure/seg-20261120", "measure/bk_measure/seg-20261121", "schema-property/_schema", "format 1.5.0", "nothing was written"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run does not mention %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "seg-20261119") || strings.Contains(out, "seg-20261122") {
		t.Errorf("dry run plans segments outside the window:\n%s", out)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("dry run created the target: %v", err)
	}

	var res struct {
		Segments int `json:"segments"`
		Check    struct {
			Issues []any `json:"issues"`
		} `json:"check"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, append(args, "--json")...)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Segments != 2 {
		t.Errorf("restored %d segments, want 2", res.Segments)
	}
	mustRun(t, "check", target)
	segs, _ := os.ReadDir(filepath.Join(target, "measure", "data", "bk_measure"))
	if len(segs) != 2 {
		t.Errorf("target holds %d segments of bk_measure, want 2", len(segs))
	}
	for _, c := range []string{"stream", "trace", "property"} {
		if _, err := os.Stat(filepath.Join(target, c)); !os.IsNotExist(err) {
			t.Errorf("partial restore of measure brought %s", c)
		}
	}
}

// TestRestoreDamagedPackExit3: a damaged pack fails the restore with exit
// 3 before the target exists.
func TestRestoreDamagedPackExit3(t *testing.T) {
	src := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, src)
	// The largest pack holds part data.
	var largest string
	var size int64
	filepath.WalkDir(filepath.Join(repo, "data"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if st, _ := d.Info(); st != nil && st.Size() > size {
				largest, size = p, st.Size()
			}
		}
		return nil
	})
	data, err := os.ReadFile(largest)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/3] ^= 0x55
	if err := os.WriteFile(largest, data, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	r := run(t, "restore", b.ID, "--repo", repo, "--target", target)
	if r.code != 3 || !strings.Contains(r.stderr, b.ShortID) || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("restore from a damaged pack: exit %d, stderr %q; want 3 naming the backup", r.code, r.stderr)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a refused restore created the target: %v", err)
	}
}

// TestRestoreAcrossReleases: the fixtures' cross-version outcomes
// (fixtures README) decide what a restore brings.
func TestRestoreAcrossReleases(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	old := backupJSONOf(t, repo, fixtureRoot(t, fixture.V0102))
	cur := backupJSONOf(t, repo, fixtureRoot(t, fixture.V011))

	target := filepath.Join(t.TempDir(), "to011")
	out := mustRun(t, "restore", old.ID, "--repo", repo, "--target", target, "--target-version", "0.11")
	if !strings.Contains(out, "left out trace") {
		t.Errorf("0.10.2 backup into 0.11 does not leave out trace:\n%s", out)
	}
	for _, c := range []string{"measure", "stream", "property", "schema-property"} {
		if _, err := os.Stat(filepath.Join(target, c, "data")); err != nil {
			t.Errorf("0.10.2 backup into 0.11: %s not restored: %v", c, err)
		}
	}
	if _, err := os.Stat(filepath.Join(target, "trace")); !os.IsNotExist(err) {
		t.Errorf("0.10.2 backup into 0.11 restored trace")
	}

	target = filepath.Join(t.TempDir(), "to010")
	mustRun(t, "restore", old.ID, "--repo", repo, "--target", target, "--target-version", "0.10")
	for _, c := range []string{"measure", "stream", "trace", "property", "schema-property"} {
		if _, err := os.Stat(filepath.Join(target, c, "data")); err != nil {
			t.Errorf("0.10.2 backup into 0.10: %s not restored: %v", c, err)
		}
	}

	target = filepath.Join(t.TempDir(), "rollback")
	r := run(t, "restore", cur.ID, "--repo", repo, "--target", target, "--target-version", "0.10")
	if r.code != 1 || !strings.Contains(r.stderr, "0.10") || !strings.Contains(r.stderr, "1.5.0") {
		t.Errorf("0.11 backup into 0.10: exit %d, stderr %q; want 1 naming both versions", r.code, r.stderr)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a refused restore created the target: %v", err)
	}
}
