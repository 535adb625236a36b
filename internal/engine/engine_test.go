package engine_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/retention"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
)

// A repository opened by the engine goes through the one stack: what it
// reads and writes is counted, and its limits apply.
func TestOpenThroughTheStack(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "repo")
	o := engine.StoreOptions{}
	o.Stack.Upload = ratelimit.New(1 << 20)
	r, err := engine.Init(ctx, dir, repository.InitOptions{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Counts(); c.Uploaded == 0 || c.Puts+c.Gets == 0 {
		t.Errorf("init wrote through no counter: %+v", c)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = engine.Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if c := r.Counts(); c.Downloaded == 0 {
		t.Errorf("open read nothing through the counter: %+v", c)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := engine.Open(ctx, "s3://", engine.StoreOptions{}); !errors.Is(err, backends.ErrBadURL) {
		t.Errorf("a bucketless URL: %v, want ErrBadURL", err)
	}
	if _, err := engine.Open(ctx, filepath.Join(t.TempDir(), "none"), engine.StoreOptions{}); !errors.Is(err, repository.ErrNoRepository) {
		t.Errorf("a missing repository: %v, want ErrNoRepository", err)
	}
}

// Retention without group keys judges every backup as one group (a serve
// job's backups); with host, each host's backups on their own.
func TestApplyRetentionGroups(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var backups []repository.Backup
	for i, host := range []string{"a", "b", "a", "b"} {
		backups = append(backups, repository.Backup{ID: repository.Hash([]byte{byte(i)}),
			Manifest: &repository.Manifest{Time: t0.Add(time.Duration(i) * time.Hour), Hostname: host}})
	}
	p := retention.Policy{Last: 1}
	one := engine.ApplyRetention(p, backups, nil, nil, t0.Add(time.Hour*5))
	if len(one.Groups) != 1 || len(one.Remove) != 3 {
		t.Errorf("no group keys: %d groups, %d removed; want 1 group, 3 removed", len(one.Groups), len(one.Remove))
	}
	byHost := engine.ApplyRetention(p, backups, nil, []string{engine.GroupByHost}, t0.Add(time.Hour*5))
	if len(byHost.Groups) != 2 || len(byHost.Remove) != 2 || byHost.Groups[0].Host != "a" {
		t.Errorf("by host: %+v", byHost)
	}
	if err := engine.CheckGroupBy([]string{"host", "colour"}); err == nil {
		t.Error("CheckGroupBy accepted colour")
	}
}

// clusterBackups makes, for each time, one set of three data nodes whose
// snapshots straddle it by a second (so near midnight the members of one
// set fall on two days), with the member backups.
func clusterBackups(cluster string, times []time.Time) ([]repository.Backup, []repository.BackupSet) {
	var backups []repository.Backup
	var sets []repository.BackupSet
	for i, at := range times {
		op := fmt.Sprintf("%032x", i+1)
		s := &repository.Set{Operation: op, Time: at.Add(2 * time.Second), Cluster: cluster}
		for n, node := range []string{"data-0:17912", "data-1:17912", "data-2:17912"} {
			id := repository.Hash([]byte(cluster + op + node))
			backups = append(backups, repository.Backup{ID: id, Manifest: &repository.Manifest{
				Time: at.Add(time.Duration(n-1) * time.Second), Hostname: node, ClusterOperation: op,
				Source: repository.Source{Type: "node", Node: node}}})
			s.Nodes = append(s.Nodes, repository.SetNode{Name: node, Role: repository.RoleData, Backup: &id})
		}
		sets = append(sets, repository.BackupSet{ID: repository.Hash([]byte(cluster + op)), Set: s})
	}
	return backups, sets
}

// forget --keep-daily 7 over two sets a day (one at noon, one at
// midnight, whose members straddle it) keeps whole sets, never half of
// one: members are never judged on their own, and a removed set names all
// its members. Clusters are judged apart; a node's own backups beside them
// are judged as before.
func TestRetentionKeepsWholeSets(t *testing.T) {
	day0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var times []time.Time
	for d := range 10 {
		times = append(times, day0.AddDate(0, 0, d).Add(12*time.Hour), day0.AddDate(0, 0, d+1))
	}
	backups, sets := clusterBackups("prod", times)
	b2, s2 := clusterBackups("staging", times[:3])
	backups, sets = append(backups, b2...), append(sets, s2...)
	lone := repository.Backup{ID: repository.Hash([]byte("lone")), Manifest: &repository.Manifest{Time: day0, Hostname: "standalone"}}
	backups = append(backups, lone)
	p := retention.Policy{Daily: 7, Location: time.UTC}
	now := times[len(times)-1].Add(time.Hour)
	r := engine.ApplyRetention(p, backups, sets, []string{engine.GroupByHost, engine.GroupBySource}, now)

	members := repository.Membership(sets)
	for _, id := range r.Remove {
		if _, ok := members[id]; ok {
			t.Fatalf("member backup %s judged on its own", id.Short())
		}
	}
	kept := map[string]int{}
	for _, g := range r.Groups {
		for _, j := range append(g.Keep, g.Remove...) {
			if _, ok := members[mustParse(t, j.ID)]; ok {
				t.Fatalf("member backup %s in the groups", j.ShortID)
			}
			if j.Set && len(j.Members) != 3 {
				t.Errorf("set %s judged with %d members, want 3", j.ShortID, len(j.Members))
			}
		}
		if g.Sets {
			kept[g.Cluster] += len(g.Keep)
		}
	}
	// The newest set of each of prod's 7 newest days; staging's 3 sets
	// lie on 2 days (the oldest, kept by the leftover count, is one of
	// them).
	if kept["prod"] != 7 || kept["staging"] != 2 {
		t.Errorf("sets kept per cluster %v, want prod 7, staging 2", kept)
	}
	if len(r.RemoveSets) != len(times)-7+1 {
		t.Errorf("%d sets removed, want %d", len(r.RemoveSets), len(times)-7+1)
	}
	if len(r.Remove) != 0 {
		t.Errorf("single-node backups removed: %v (the lone backup is its host's newest)", r.Remove)
	}
	// The same members judged without their sets, as a release that does
	// not know sets would: half of the midnight sets would stay.
	old := engine.ApplyRetention(p, stripOperations(backups), nil, []string{engine.GroupByHost, engine.GroupBySource}, now)
	if split := splitSets(sets, old.Remove); split == 0 {
		t.Error("judging members on their own split no set: the test does not exercise straddling sets")
	}
}

func mustParse(t *testing.T, s string) repository.ID {
	t.Helper()
	id, err := repository.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// stripOperations copies backups without their cluster operation.
func stripOperations(in []repository.Backup) []repository.Backup {
	out := make([]repository.Backup, len(in))
	for i, b := range in {
		m := *b.Manifest
		m.ClusterOperation = ""
		out[i] = repository.Backup{ID: b.ID, Manifest: &m}
	}
	return out
}

// splitSets counts the sets of which removed holds some members but not all.
func splitSets(sets []repository.BackupSet, removed []repository.ID) int {
	n := 0
	for _, s := range sets {
		gone := 0
		for _, m := range s.Members() {
			if slices.Contains(removed, m) {
				gone++
			}
		}
		if gone > 0 && gone < len(s.Members()) {
			n++
		}
	}
	return n
}
