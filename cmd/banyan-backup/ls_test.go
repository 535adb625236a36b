package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// ls lists every directory and file of a backup, as the root held them
// (mode, size, time), each file once; with a PATH only those at and below
// it; a PATH the backup does not hold, or one with "..", is exit 2.
func TestLsListsTheBackupsTree(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, root)

	var all []engine.Entry
	if err := json.Unmarshal([]byte(mustRun(t, "ls", "--repo", repo, b.ShortID, "--json")), &all); err != nil {
		t.Fatalf("ls --json printed no JSON: %v", err)
	}
	want := listDataTrees(t, root) // catalog/data/... paths
	listed := map[string]bool{}
	for _, e := range all {
		cat, rest, _ := strings.Cut(e.Path, "/")
		rel := filepath.Join(cat, "data", rest) // the catalog itself stands for its data/
		listed[rel] = true
		w, ok := want[rel]
		if !ok {
			t.Errorf("ls lists %s, which the root does not hold", e.Path)
			continue
		}
		if (e.Type == "dir") != w.dir || e.Mode != w.mode.String() {
			t.Errorf("%s: listed as %s %s, the root has dir=%v %s", e.Path, e.Type, e.Mode, w.dir, w.mode)
		}
		if w.dir {
			continue
		}
		st, err := os.Stat(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		if e.Size != st.Size() || !e.ModTime.Equal(time.Unix(0, w.mtime)) {
			t.Errorf("%s: listed %d bytes at %v, the root has %d at %v", e.Path, e.Size, e.ModTime, st.Size(), time.Unix(0, w.mtime))
		}
	}
	for rel := range want {
		if !listed[rel] {
			t.Errorf("ls does not list %s", rel)
		}
	}

	const group = "measure/bk_measure"
	text := mustRun(t, "ls", "--repo", repo, "latest", group+"/")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	n := 0
	for _, e := range all {
		if e.Path == group || strings.HasPrefix(e.Path, group+"/") {
			n++
		}
	}
	if len(lines) != n || !strings.HasSuffix(lines[0], " "+group) {
		t.Errorf("ls latest %s printed %d lines, want %d, the group first:\n%s", group, len(lines), n, text)
	}
	for _, path := range []string{"measure/no_such_group", "../measure", "measure/./bk_measure"} {
		if r := run(t, "ls", "--repo", repo, "latest", path); r.code != 2 {
			t.Errorf("ls latest %s: exit %d, want 2\n%s", path, r.code, r.stderr)
		}
	}
}
