package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// TestOneJSONShapeForABackup: `backup --json`, `list --json`, `show --json`
// and the serve API describe the same backup with the same fields and the
// same values (backup --json adds only what the run did: none of it for an
// offline backup, whose run fields are empty). A live backup under writes
// lists the parts its snapshot lacked (lacking_parts) in all four.
func TestOneJSONShapeForABackup(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	mustRun(t, "backup", "--repo", repo, "--root", root, "--tag", "job=nightly")
	var taken map[string]any
	decode(t, mustRun(t, "backup", "--repo", repo, "--root", root, "--tag", "job=nightly", "--json"), &taken)
	id, _ := taken["id"].(string)
	if id == "" || taken["parent"] == nil {
		t.Fatalf("backup --json has no id or parent: %v", taken)
	}
	srv := startSim(t, root, false)
	var live map[string]any
	decode(t, mustRun(t, "backup", "--repo", repo, "--root", root, "--node", srv.GRPCAddr(), "--tag", "job=nightly", "--json"), &live)
	// Whether the node held parts in memory at that instant depends on
	// timing (TestLiveBackupUnderWritesRestoresClean makes sure of it); the
	// shape has the list either way.
	if _, ok := live["lacking_parts"].([]any); !ok {
		t.Errorf("a live backup's JSON has no lacking_parts list: %v", live["lacking_parts"])
	}

	var listed []map[string]any
	decode(t, mustRun(t, "list", "--repo", repo, "--json"), &listed)
	p := startServe(t, fmt.Sprintf("listen: 127.0.0.1:0\njobs:\n  - name: nightly\n    source: {root: %s}\n    repositories: [{name: local, url: %s}]\n    schedule: \"@every 24h\"\n", root, repo))
	code, body := p.get(t, "/api/v1/jobs/nightly/backups")
	if code != 200 {
		t.Fatalf("GET backups: %d %s", code, body)
	}
	var api struct {
		Repositories []struct{ Backups []map[string]any }
	}
	decode(t, body, &api)
	if len(api.Repositories) != 1 {
		t.Fatalf("serve API: %s", body)
	}
	served := api.Repositories[0].Backups

	for _, run := range []map[string]any{taken, live} {
		id, _ := run["id"].(string)
		i := slices.IndexFunc(listed, func(b map[string]any) bool { return b["id"] == id })
		if i < 0 {
			t.Fatalf("list --json lacks %s", id)
		}
		var shown map[string]any
		decode(t, mustRun(t, "show", id, "--repo", repo, "--json"), &shown)
		j := slices.IndexFunc(served, func(b map[string]any) bool { return b["id"] == id })
		if j < 0 {
			t.Fatalf("the serve API lacks %s: %s", id, body)
		}
		// backup --json is the backup's shape plus what the run did.
		want := map[string]any{}
		for k := range shown {
			want[k] = run[k]
		}
		if _, isLive := run["snapshot_seconds"]; !isLive && !reflect.DeepEqual(want, run) {
			t.Errorf("backup --json of an offline backup adds %v to the backup's shape %v", keysOf(run), keysOf(shown))
		}
		for name, got := range map[string]map[string]any{"list --json": listed[i], "show --json": shown, "serve API": served[j]} {
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s differs from backup --json:\n%s: %v\nbackup --json: %v", name, name, keysOf(got), keysOf(want))
				for k, v := range want {
					if !reflect.DeepEqual(got[k], v) {
						t.Errorf("  %s: %v, backup --json: %v", k, got[k], v)
					}
				}
			}
		}
		for _, k := range []string{"id", "time", "hostname", "tags", "source", "catalogs", "tree", "files", "bytes_total",
			"bytes_added", "versions", "segments", "lacking_parts"} {
			if _, ok := run[k]; !ok {
				t.Errorf("the backup's JSON lacks %q", k)
			}
		}
	}
}

func decode(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("cannot decode %q: %v", s, err)
	}
}

func keysOf(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
