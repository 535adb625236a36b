package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyCommitted copies a committed test repository (testdata/repos/vN)
// into a temporary directory.
func copyCommitted(t *testing.T, n string) string {
	t.Helper()
	src := filepath.Join("..", "..", "testdata", "repos", n, "repo")
	dst := filepath.Join(t.TempDir(), "repo")
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err == nil {
			err = os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, rel), data, 0o644)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// listed is what `list --json` gives of each backup, for sets.
type listed struct {
	ID               string `json:"id"`
	Set              string `json:"set"`
	ClusterOperation string `json:"cluster_operation"`
}

// The commands on a repository with a backup set (testdata/repos/v3):
// list shows the set and marks its members, show prints it, forget of a
// member is refused, forget of the set removes it with its members, and
// the repository verifies after a prune.
func TestBackupSetCommands(t *testing.T) {
	repo := copyCommitted(t, "v3")
	var list []listed
	if err := json.Unmarshal([]byte(mustRun(t, "list", "--repo", repo, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	var set string
	var members []string
	for _, b := range list {
		if b.Set != "" {
			set, members = b.Set, append(members, b.ID)
		}
	}
	if len(list) != 4 || len(members) != 2 {
		t.Fatalf("list --json: %d backups, %d members of a set; want 4 and 2", len(list), len(members))
	}
	text := mustRun(t, "list", "--repo", repo)
	if !strings.Contains(text, "backup sets:") || !strings.Contains(text, set[:8]) || !strings.Contains(text, "2 data, 2 in all") {
		t.Errorf("list does not show the set:\n%s", text)
	}
	show := mustRun(t, "show", set[:10], "--repo", repo)
	for _, want := range []string{"backup set  " + set, "cluster     committed", "10.0.0.2:17912", "10.0.0.3:17912", members[0][:8]} {
		if !strings.Contains(show, want) {
			t.Errorf("show of the set lacks %q:\n%s", want, show)
		}
	}
	var shown struct {
		DataNodes int `json:"data_nodes"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "show", set, "--repo", repo, "--json")), &shown); err != nil || shown.DataNodes != 2 {
		t.Errorf("show --json of the set: %+v, %v", shown, err)
	}
	r := run(t, "forget", members[0][:10], "--repo", repo)
	if r.code != 2 || !strings.Contains(r.stderr, "belongs to backup set "+set[:8]) {
		t.Errorf("forget of a member: exit %d, %s", r.code, r.stderr)
	}
	out := mustRun(t, "forget", set[:10], "--repo", repo, "--json")
	var forgot struct {
		RemovedSets []string `json:"removed_sets"`
	}
	if err := json.Unmarshal([]byte(out), &forgot); err != nil || len(forgot.RemovedSets) != 1 || forgot.RemovedSets[0] != set {
		t.Fatalf("forget of the set: %s, %v", out, err)
	}
	ids := listIDs(t, repo)
	for _, m := range members {
		for _, id := range ids {
			if id == m {
				t.Errorf("member %s outlived its set", m[:8])
			}
		}
	}
	if len(ids) != 2 {
		t.Errorf("%d backups left, want the two single-node ones", len(ids))
	}
	mustRun(t, "prune", "--repo", repo)
	mustRun(t, "verify", "--read-data", "--repo", repo)
}
