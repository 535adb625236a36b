package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// TestRestoreIntoRunningNodeRefused: a target whose group locks a running
// banyand-sim holds is refused, saying to stop the node, even with --merge;
// nothing in it changes. (--target-version 0.11: a root of segment format
// 1.5.0 reads as 0.10.3 or 0.11, which a 0.11 backup needs to tell apart.)
func TestRestoreIntoRunningNodeRefused(t *testing.T) {
	src := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, src)

	nodeRoot := fixtureRoot(t, fixture.V011)
	startSim(t, nodeRoot, true)
	before := listDataTrees(t, nodeRoot)

	for _, extra := range [][]string{nil, {"--merge"}} {
		args := append([]string{"restore", b.ID, "--repo", repo, "--target", nodeRoot, "--target-version", "0.11"}, extra...)
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
// 3, naming the backup, and the target does not exist after it: by default
// the damage is found while writing and what was staged is removed; with
// --verify=pre-read it is found before anything is written.
func TestRestoreDamagedPackExit3(t *testing.T) {
	for _, c := range []struct{ verify, says string }{
		{"while-writing", "nothing was moved into the target"},
		{"pre-read", "nothing was written"},
	} {
		t.Run(c.verify, func(t *testing.T) { restoreDamagedPack(t, c.verify, c.says) })
	}
}

func restoreDamagedPack(t *testing.T, verify, says string) {
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
	r := run(t, "restore", b.ID, "--repo", repo, "--target", target, "--verify", verify)
	if r.code != 3 || !strings.Contains(r.stderr, b.ShortID) || !strings.Contains(r.stderr, says) {
		t.Errorf("restore from a damaged pack: exit %d, stderr %q; want 3 naming the backup and saying %q", r.code, r.stderr, says)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a refused restore left the target: %v", err)
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

// TestRestore011BackupInto0103Refused: 0.10.3 opens segment format 1.5.0
// but refuses to start on 0.11's schemas (docs/banyandb.md, Versions), so a
// backup of the 0.11 fixture is refused for --target-version 0.10.3, with
// the reason, pointing to 0.11, and the target is left as it was; a 0.10.2
// backup still goes to 0.10.3.
func TestRestore011BackupInto0103Refused(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	cur := backupJSONOf(t, repo, fixtureRoot(t, fixture.V011))
	old := backupJSONOf(t, repo, fixtureRoot(t, fixture.V0102))

	refused := func(r result, what string) {
		t.Helper()
		if r.code != 1 || !strings.Contains(r.stderr, `unknown field "createdAt"`) || !strings.Contains(r.stderr, "restore into BanyanDB 0.11 or newer") {
			t.Errorf("%s: exit %d, stderr %q; want 1 with the createdAt reason and 0.11", what, r.code, r.stderr)
		}
		if strings.Contains(r.stderr, "--target-version 0.10.3") {
			t.Errorf("%s: the refusal recommends 0.10.3: %s", what, r.stderr)
		}
	}
	target := filepath.Join(t.TempDir(), "new")
	refused(run(t, "restore", cur.ID, "--repo", repo, "--target", target, "--target-version", "0.10.3"), "into a new target")
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("a refused restore created the target: %v", err)
	}

	node := fixtureRoot(t, fixture.V0102) // a 0.10.x node's data
	before := listDataTrees(t, node)
	refused(run(t, "restore", cur.ID, "--repo", repo, "--target", node, "--target-version", "0.10.3", "--merge"), "merged into a node's data")
	if after := listDataTrees(t, node); !reflect.DeepEqual(before, after) {
		t.Errorf("a refused restore changed the target: %d entries, was %d", len(after), len(before))
	}
	if _, err := os.Stat(filepath.Join(node, "RESTORE-IN-PROGRESS")); !os.IsNotExist(err) {
		t.Errorf("a refused restore marked the target: %v", err)
	}

	mustRun(t, "restore", old.ID, "--repo", repo, "--target", filepath.Join(t.TempDir(), "to0103"), "--target-version", "0.10.3")

	// A root of segment format 1.5.0 reads as 0.10.3 or 0.11: a 0.11 backup
	// merged into it without --target-version is refused, naming the flag.
	r := run(t, "restore", cur.ID, "--repo", repo, "--target", fixtureRoot(t, fixture.V011), "--merge")
	if r.code != 1 || !strings.Contains(r.stderr, "give --target-version 0.11") {
		t.Errorf("merge into a 1.5.0 root without --target-version: exit %d, stderr %q; want 1 asking for --target-version 0.11", r.code, r.stderr)
	}
}

// TestPlainRestoreIntoRestoredTarget: a plain restore into a root that
// already holds the restored data is refused because the root holds data,
// not because of the release that data was read as.
func TestPlainRestoreIntoRestoredTarget(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, root)
	target := filepath.Join(t.TempDir(), "target")
	mustRun(t, "restore", b.ID, "--repo", repo, "--target", target)
	r := run(t, "restore", b.ID, "--repo", repo, "--target", target)
	if r.code != 1 || !strings.Contains(r.stderr, "not empty") || strings.Contains(r.stderr, "incompatible") {
		t.Errorf("restore into the restored root: exit %d, %q; want 1, saying the target is not empty", r.code, r.stderr)
	}
}
