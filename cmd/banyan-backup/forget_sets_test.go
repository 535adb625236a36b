package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// forget --keep-daily 7 over two sets of three nodes a day for ten days,
// one at noon and one just after midnight whose first members were taken
// just before it (judged on their own, they would be the newest of the
// day before, kept in place of the noon set's), keeps the noon sets of the
// seven newest days whole and removes every other set whole: every member
// goes with its set, none stays behind, and the repository verifies after
// a prune. A node's own backup beside the sets is judged as before.
func TestForgetKeepDailyKeepsWholeSets(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir() + "/repo"
	mustRun(t, "init", "--repo", repo)
	r, err := repository.Open(ctx, local.New(repo), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := backup.Run(ctx, r, backup.Options{Roots: banyandb.Roots{Root: fixtureRoot(t, fixture.V011)},
		Catalogs: []banyandb.Catalog{banyandb.SchemaProperty}, Host: "standalone", ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	base := res.Manifest
	midnight := time.Now().UTC().Truncate(24 * time.Hour)
	members := map[string][]string{} // set id → its members
	var noon, other []string         // set ids: the noon sets newest first, the others
	for day := 1; day <= 10; day++ {
		for _, at := range []time.Time{midnight.AddDate(0, 0, -day).Add(12 * time.Hour), midnight.AddDate(0, 0, -day).Add(time.Second)} {
			id, ms := saveDatedSet(t, r, base, at, fmt.Sprintf("%032x", at.Unix()))
			members[id] = ms
			if at.Hour() == 12 {
				noon = append(noon, id)
			} else {
				other = append(other, id)
			}
		}
	}
	var out struct {
		Removed     []string `json:"removed"`
		RemovedSets []string `json:"removed_sets"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "forget", "--repo", repo, "--keep-daily", "7", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	slices.Sort(out.RemovedSets)
	want := append(slices.Clone(noon[7:]), other...)
	slices.Sort(want)
	if !slices.Equal(out.RemovedSets, want) {
		t.Errorf("removed sets %v, want the three oldest %v", out.RemovedSets, want)
	}
	var list []listed
	if err := json.Unmarshal([]byte(mustRun(t, "list", "--repo", repo, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	left := map[string]string{}
	for _, b := range list {
		left[b.ID] = b.Set
	}
	if _, ok := left[res.ID.String()]; !ok {
		t.Error("the standalone node's backup was removed")
	}
	for _, id := range append(noon, other...) {
		kept := slices.Index(noon, id) >= 0 && slices.Index(noon, id) < 7
		for _, m := range members[id] {
			set, ok := left[m]
			switch {
			case kept && set != id:
				t.Errorf("member %s of kept set %s: listed %v, in set %q", m[:8], id[:8], ok, set)
			case !kept && ok:
				t.Errorf("member %s of removed set %s is still there", m[:8], id[:8])
			}
		}
	}
	if len(list) != 7*3+1 {
		t.Errorf("%d backups left, want 22", len(list))
	}
	mustRun(t, "prune", "--repo", repo)
	mustRun(t, "verify", "--repo", repo)
}

// saveDatedSet saves a set taken at at, of three data nodes whose member
// manifests are copies of base taken 2 s, 1 s and 0 s before at.
func saveDatedSet(t *testing.T, r *repository.Repository, base *repository.Manifest, at time.Time, op string) (string, []string) {
	t.Helper()
	s := &repository.Set{Operation: op, Time: at, Cluster: "prod", ToolVersion: "test", Window: repository.Window{Start: at.Add(-2 * time.Second), End: at}}
	var members []string
	for n, name := range []string{"data-0:17912", "data-1:17912", "data-2:17912"} {
		m := *base
		m.Time, m.Hostname, m.ClusterOperation = at.Add(time.Duration(n-2)*time.Second), name, op
		id, _, err := r.SaveManifest(context.Background(), &m)
		if err != nil {
			t.Fatal(err)
		}
		s.Nodes = append(s.Nodes, repository.SetNode{Name: name, Role: repository.RoleData, Backup: &id})
		members = append(members, id.String())
	}
	return saveTestSet(t, r, s).String(), members
}
