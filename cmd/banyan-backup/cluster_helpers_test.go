package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// oldNodes are the data nodes of a test cluster's set. As strings they
// sort 10.0.0.10, 10.0.0.11, 10.0.0.9, which is the order BanyanDB gives
// them, not the numeric one.
var oldNodes = []string{"10.0.0.9:17912", "10.0.0.10:17912", "10.0.0.11:17912"}

const testLiaison = "10.0.0.20:18912"

// testCluster is a repository holding one backup set of three data nodes
// and a liaison, each data node's backup taken of its own root.
type testCluster struct {
	repo string
	set  string
	// roots maps each old data node to the root its backup was taken of.
	roots map[string]string
}

// newTestCluster backs up three data roots, each the 0.11 fixture lacking
// a different day's segments (so no two members hold the same data), the
// first (10.0.0.9) without trace data (no group bk_trace), as
// members of one cluster operation, and commits the set, as a
// coordinator does: the sets feature enabled under an exclusive lock, the
// set written under a shared one.
func newTestCluster(t *testing.T) *testCluster {
	t.Helper()
	ctx := context.Background()
	c := &testCluster{repo: filepath.Join(t.TempDir(), "repo"), roots: map[string]string{}}
	mustRun(t, "init", "--repo", c.repo)
	r, err := repository.Open(ctx, local.New(c.repo), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	op := "00112233445566778899aabbccddeeff"
	now := time.Now().UTC()
	s := &repository.Set{Operation: op, Time: now, Cluster: "test-cluster", ToolVersion: "test",
		Window: repository.Window{Start: now.Add(-time.Second), End: now}}
	for i, name := range oldNodes {
		root := fixtureRoot(t, fixture.V011)
		dropDay(t, root, fmt.Sprintf("seg-2026112%d", i))
		if i == 0 { // as a node that placement gave no shard of the group
			if err := os.RemoveAll(filepath.Join(root, "trace")); err != nil {
				t.Fatal(err)
			}
		}
		res, err := backup.Run(ctx, r, backup.Options{Roots: banyandb.Roots{Root: root}, Host: name, ClusterOperation: op, ToolVersion: "test"})
		if err != nil {
			t.Fatalf("backup of %s: %v", name, err)
		}
		c.roots[name] = root
		s.Nodes = append(s.Nodes, repository.SetNode{Name: name, Role: repository.RoleData, Backup: &res.ID,
			Snapshot: &repository.SnapshotWindow{Start: s.Window.Start, End: now}})
	}
	s.Nodes = append(s.Nodes, repository.SetNode{Name: testLiaison, Role: repository.RoleLiaison,
		Queue: &repository.LiaisonQueue{Checked: now, Drained: true}})
	slices.SortFunc(s.Nodes, func(a, b repository.SetNode) int { return strings.Compare(a.Name, b.Name) })
	c.set = saveTestSet(t, r, s).String()
	return c
}

// saveTestSet enables the sets feature and saves s.
func saveTestSet(t *testing.T, r *repository.Repository, s *repository.Set) repository.ID {
	t.Helper()
	ctx := context.Background()
	l, err := r.Lock(ctx, "test", true)
	if err != nil {
		t.Fatal(err)
	}
	err = r.EnableFeature(ctx, l, repository.FeatureSets)
	l.Unlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l, err = r.Lock(ctx, "cluster-backup", false); err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(ctx)
	id, _, err := r.SaveSet(ctx, l, s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// dropDay removes the segment directory seg of every catalog below root.
func dropDay(t *testing.T, root, seg string) {
	t.Helper()
	n := 0
	for _, c := range []string{"measure", "stream", "trace"} {
		groups, err := filepath.Glob(filepath.Join(root, c, "data", "*", seg))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			if err := os.RemoveAll(g); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatalf("no segment %s below %s", seg, root)
	}
}

// newTargets returns n fresh, absent target roots and the --node-target
// arguments naming them after names.
func newTargets(t *testing.T, names ...string) (map[string]string, []string) {
	t.Helper()
	base := t.TempDir()
	roots := map[string]string{}
	var args []string
	for i, n := range names {
		roots[n] = filepath.Join(base, fmt.Sprintf("node-%d", i))
		args = append(args, "--node-target", n+"="+roots[n])
	}
	return roots, args
}
