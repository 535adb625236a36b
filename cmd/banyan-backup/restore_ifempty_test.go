package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// restore --if-empty, as an init container runs it on every start: with no
// backup yet it leaves the empty volume alone (a first deployment); into an
// empty target (an empty lost+found is no data) it restores; once the
// target holds data it does nothing; an interrupted restore is resumed. Every case exits 0
// but the conflicting flags (2) and the marker of another backup (1).
func TestRestoreIfEmpty(t *testing.T) {
	src := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	target := filepath.Join(t.TempDir(), "volume", "banyandb")
	args := []string{"restore", "latest", "--repo", repo, "--target", target, "--time-zone", "UTC", "--if-empty"}

	if out := mustRun(t, args...); !strings.Contains(out, "nothing restored (--if-empty): the repository has no backup yet") {
		t.Fatalf("no backup yet:\n%s", out)
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Fatalf("the target was made: %v", err)
	}

	backupJSONOf(t, repo, src)
	if out := mustRun(t, args...); !strings.Contains(out, "restored backup") {
		t.Fatalf("into an empty target:\n%s", out)
	}
	mustRun(t, "check", target, "--time-zone", "UTC")
	before := dirSize(t, target)

	backupJSONOf(t, repo, src) // a newer backup: still not restored over the data
	out := mustRun(t, append(args, "--json")...)
	if !strings.Contains(out, `"restored": false`) || !strings.Contains(out, target+" holds data") {
		t.Fatalf("into a target holding data:\n%s", out)
	}
	if after := dirSize(t, target); after != before {
		t.Fatalf("the target changed: %d bytes, was %d", after, before)
	}

	// A new filesystem's empty lost+found is no data.
	fresh := filepath.Join(t.TempDir(), "fresh")
	if err := os.MkdirAll(filepath.Join(fresh, "lost+found"), 0o700); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "restore", "latest", "--repo", repo, "--target", fresh, "--time-zone", "UTC", "--if-empty"); !strings.Contains(out, "restored backup") {
		t.Fatalf("into a root holding an empty lost+found:\n%s", out)
	}

	// An interrupted restore (its marker, and data it moved in) is resumed,
	// not left alone as data.
	latest := strings.TrimSpace(mustRun(t, "list", "--repo", repo, "--json"))
	id := latest[strings.LastIndex(latest, `"id": "`)+7:]
	id = id[:strings.Index(id, `"`)]
	half := filepath.Join(t.TempDir(), "half")
	if err := os.MkdirAll(filepath.Join(half, "schema-property", "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(half, "RESTORE-IN-PROGRESS"), []byte(`{"backup":"`+id+`"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "restore", id, "--repo", repo, "--target", half, "--time-zone", "UTC", "--if-empty"); !strings.Contains(out, "restored backup") {
		t.Fatalf("into a root holding an interrupted restore:\n%s", out)
	}
	mustRun(t, "check", half, "--time-zone", "UTC")

	marked := filepath.Join(t.TempDir(), "marked")
	if err := os.MkdirAll(marked, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(marked, "RESTORE-IN-PROGRESS"), []byte(`{"backup":"00000000000000000000000000000000000000000000000000000000000000aa"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "restore", "latest", "--repo", repo, "--target", marked, "--if-empty")
	if r.code != 1 || !strings.Contains(r.stderr, "incomplete restore") {
		t.Fatalf("a target with another restore's marker: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, append(args, "--merge")...); r.code != 2 {
		t.Fatalf("--if-empty --merge: exit %d, want 2", r.code)
	}
}
