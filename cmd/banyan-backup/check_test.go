package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

func TestCheckFixtureRootIsClean(t *testing.T) {
	for _, name := range []string{fixture.V0102, fixture.V011} {
		t.Run(name, func(t *testing.T) {
			root := fixtureRoot(t, name)
			out := mustRun(t, "check", root)
			if !strings.Contains(out, "checked 5 catalogs, 5 groups, 15 segments, 18 shards, 16 parts: 0 errors") {
				t.Errorf("unexpected summary:\n%s", out)
			}
			// --root works as well as DIR, and a properly flushed new part
			// is fine.
			addPart(t, filepath.Join(root, "measure/data/bk_measure/seg-20261121/shard-0"), "0000000000000002", 1000)
			mustRun(t, "check", "--root", root, "--time-zone", "UTC")
		})
	}
}

func TestCheckDamagedRootFails(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	part := filepath.Join(root, "measure/data/bk_measure/seg-20261121/shard-0/0000000000000002")
	if err := os.Mkdir(part, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := `{"compressedSizeBytes":1,"uncompressedSizeBytes":1,"totalCount":1,"blocksCount":1,"minTimestamp":1,"maxTimestamp":2}`
	if err := os.WriteFile(filepath.Join(part, "metadata.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	r := run(t, "check", root)
	if r.code != 1 {
		t.Fatalf("check of a damaged root: exit %d, want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	line := "error   measure bk_measure/seg-20261121/shard-0: part 0000000000000002 is not listed in the winning part list 18eac42007ab4d9c.snp: the server deletes it"
	if !strings.Contains(r.stdout, line) {
		t.Errorf("stdout does not name the shard and part:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, ": 1 errors, 0 warnings") {
		t.Errorf("unexpected summary:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "data root would not load cleanly") {
		t.Errorf("stderr: %s", r.stderr)
	}

	// Leaving measure out leaves the damage out.
	mustRun(t, "check", root, "--catalog", "stream", "--catalog", "trace")

	r = run(t, "check", root, "--json")
	if r.code != 1 {
		t.Fatalf("check --json of a damaged root: exit %d, want 1", r.code)
	}
	var rep struct {
		Catalogs []string `json:"catalogs"`
		Parts    int      `json:"parts"`
		Errors   int      `json:"errors"`
		Issues   []struct {
			Severity string `json:"severity"`
			Catalog  string `json:"catalog"`
			Shard    int    `json:"shard"`
			Path     string `json:"path"`
			Message  string `json:"message"`
		} `json:"issues"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("check --json printed no JSON: %v\n%s", err, r.stdout)
	}
	if rep.Errors != 1 || len(rep.Issues) != 1 || rep.Issues[0].Path != "bk_measure/seg-20261121/shard-0" ||
		rep.Issues[0].Severity != "error" || rep.Issues[0].Catalog != "measure" || rep.Issues[0].Shard != 0 {
		t.Errorf("unexpected report: %+v", rep)
	}
}

// TestCheckTargetVersion: --target-version makes check refuse the segment
// formats that release does not open; an unknown release is a usage error.
func TestCheckTargetVersion(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	mustRun(t, "check", root, "--target-version", "0.11")
	mustRun(t, "check", root, "--target-version", "0.10.3")
	r := run(t, "check", root, "--target-version", "0.10.2")
	line := "error   measure bk_measure/seg-20261119: segment format 1.5.0 is not one BanyanDB 0.10.2 opens (1.4.0): the server refuses to start"
	if r.code != 1 || !strings.Contains(r.stdout, line) || !strings.Contains(r.stdout, ": 15 errors, 0 warnings") {
		t.Errorf("check of a 0.11 root for 0.10.2: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "check", root, "--target-version", "0.12"); r.code != 2 {
		t.Errorf("check --target-version 0.12: exit %d, want 2\nstderr: %s", r.code, r.stderr)
	}
}

func TestCheckJSONOfCleanRoot(t *testing.T) {
	root := fixtureRoot(t, fixture.V0102)
	out := mustRun(t, "check", root, "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json printed no JSON: %v\n%s", err, out)
	}
	if issues, ok := rep["issues"].([]any); !ok || len(issues) != 0 {
		t.Errorf("issues = %#v, want []", rep["issues"])
	}
	if rep["errors"] != 0.0 || rep["parts"] != 16.0 {
		t.Errorf("unexpected report: %v", rep)
	}
}

func TestCheckBadInput(t *testing.T) {
	notRoot := t.TempDir()
	r := run(t, "check", notRoot)
	if r.code != 1 {
		t.Errorf("check of a non-root: exit %d, want 1\nstderr: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "--root") || !strings.Contains(r.stderr, notRoot) {
		t.Errorf("the message names neither --root nor the path: %s", r.stderr)
	}
	if r := run(t, "check"); r.code != 2 {
		t.Errorf("check without a root: exit %d, want 2\nstderr: %s", r.code, r.stderr)
	}
	if r := run(t, "check", "a", "b"); r.code != 2 {
		t.Errorf("check with two roots: exit %d, want 2", r.code)
	}
	if r := run(t, "check", "a", "--root", "b"); r.code != 2 {
		t.Errorf("check with DIR and a different --root: exit %d, want 2", r.code)
	}
}
