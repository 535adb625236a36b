package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// A set of live backups of three simulated data nodes, which a liaison
// filled by placement over the three (one replica: every part on two
// nodes; a node may hold no group of a catalog, and its snapshot then
// lacks that catalog): cluster restore puts each node's
// backup onto a fresh root, which passes check and holds exactly the
// files of that node's snapshot.
func TestClusterRestoreOfLiveNodes(t *testing.T) {
	ctx := context.Background()
	top := fixture.ForTest(t, fixture.V011)
	nodes := startSimCluster(t, top)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	r, err := repository.Open(ctx, local.New(repo), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	op := strings.Repeat("5a", 16)
	now := time.Now().UTC()
	s := &repository.Set{Operation: op, Time: now, Cluster: "sim", ToolVersion: "test", Window: repository.Window{Start: now, End: now}}
	taken := map[string]banyandb.Roots{} // old node → its snapshot's data directories
	for _, n := range nodes {
		res, snap := liveMember(t, r, n, op)
		taken[n.Name()] = snap
		s.Nodes = append(s.Nodes, repository.SetNode{Name: n.Name(), Role: repository.RoleData, Backup: &res.ID})
	}
	slices.SortFunc(s.Nodes, func(a, b repository.SetNode) int { return strings.Compare(a.Name, b.Name) })
	set := saveTestSet(t, r, s).String()

	roots, targets := newTargets(t, "new-0:17912", "new-1:17912", "new-2:17912")
	out := clusterJSON(t, mustRun(t, append([]string{"cluster", "restore", "--repo", repo, "--set", set, "--json"}, targets...)...))
	if !out.Succeeded || len(out.Nodes) != 3 {
		t.Fatalf("report: %+v", out)
	}
	parts := 0
	for i, n := range out.Nodes {
		if want := s.Nodes[i].Name; n.Old != want {
			t.Errorf("node %s got %s, want %s (sorted-name order)", n.New, n.Old, want)
		}
		mustRun(t, "check", "--root", roots[n.New])
		want := contentOf(t, taken[n.Old])
		parts += countParts(want)
		got := contentOf(t, banyandb.Roots{Root: roots[n.New]})
		for p, sum := range want {
			if got[p] != sum {
				t.Errorf("node %s, %s: restored %q, snapshot %q", n.New, p, got[p], sum)
			}
		}
		for p := range got {
			if _, ok := want[p]; !ok {
				t.Errorf("node %s, %s: restored, not in the snapshot", n.New, p)
			}
		}
	}
	if parts == 0 {
		t.Error("the snapshots hold no part of the liaison's writes")
	}
}

// startSimCluster starts three data nodes seeded with the fixture's
// schema and a liaison, and has the liaison write and deliver a few
// rounds of parts to them.
func startSimCluster(t *testing.T, top string) []*sim.Server {
	t.Helper()
	ctx := context.Background()
	schema, err := sim.SchemaFromRoot(filepath.Join(top, "data"), time.UTC, 1)
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*sim.Server
	var disc sim.DiscoveryFile
	for i := range 3 {
		root := filepath.Join(t.TempDir(), "data")
		if err := sim.SeedClusterNode(ctx, top, root); err != nil {
			t.Fatal(err)
		}
		cfg := simTestConfig(root)
		cfg.Cluster = sim.Cluster{Role: sim.RoleData, Schema: schema, NodeHost: "127.0.0.1"}
		n := startSimConfig(t, cfg)
		nodes = append(nodes, n)
		disc.Nodes = append(disc.Nodes, sim.DiscoveryNode{Name: fmt.Sprintf("data-%d", i), GRPCAddress: n.GRPCAddr()})
	}
	file := filepath.Join(t.TempDir(), "nodes.yaml")
	if err := sim.WriteDiscoveryFile(file, &disc); err != nil {
		t.Fatal(err)
	}
	cfg := simTestConfig(filepath.Join(t.TempDir(), "liaison"))
	cfg.Workload.StartTime = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	cfg.Cluster = sim.Cluster{Role: sim.RoleLiaison, Schema: schema, NodeHost: "127.0.0.1", DiscoveryFile: file,
		DiscoveryInterval: time.Hour, CallTimeout: 30 * time.Second}
	l := startSimConfig(t, cfg)
	for range 8 {
		if err := l.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return nodes
}

// simTestConfig is a simulator on free ports with small parts, a fixed
// seed and no background workload.
func simTestConfig(root string) sim.Config {
	cfg := sim.DefaultConfig(root)
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Workload.PartSize, cfg.Workload.Seed = 2048, 1
	return cfg
}

func startSimConfig(t *testing.T, cfg sim.Config) *sim.Server {
	t.Helper()
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv
}

// liveMember takes a live backup of node n as a member of operation op,
// keeping the node's snapshot, and returns it with the snapshot's data
// directories.
func liveMember(t *testing.T, r *repository.Repository, n *sim.Server, op string) (*backup.Result, banyandb.Roots) {
	t.Helper()
	root := n.Root()
	before := snapshotEntries(root)
	res, err := backup.RunLive(context.Background(), r,
		backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC, Host: n.Name(), ClusterOperation: op, ToolVersion: "test"},
		backup.LiveOptions{Node: snapshot.Options{Node: n.GRPCAddr(), ConnectTimeout: 10 * time.Second, CallTimeout: time.Minute}, KeepSnapshot: true})
	if err != nil {
		t.Fatalf("live backup of %s: %v", n.Name(), err)
	}
	taken := banyandb.Roots{Data: map[banyandb.Catalog]string{}}
	for _, d := range snapshotEntries(root) {
		if slices.Contains(before, d) {
			continue
		}
		c, name, _ := strings.Cut(d, "/")
		dir := filepath.Join(root, c, "snapshots", name)
		if c == string(banyandb.Property) || c == string(banyandb.SchemaProperty) {
			dir = filepath.Join(dir, "data")
		}
		taken.Data[banyandb.Catalog(c)] = dir
	}
	if taken.Data[banyandb.SchemaProperty] == "" {
		t.Fatalf("node %s took snapshots of %v, not of its schema", n.Name(), taken.Data)
	}
	return res, taken
}

// snapshotEntries lists every catalog's snapshots/ entries under root.
func snapshotEntries(root string) []string {
	var out []string
	for _, c := range banyandb.AllCatalogs() {
		ents, _ := os.ReadDir(filepath.Join(root, string(c), "snapshots"))
		for _, e := range ents {
			out = append(out, string(c)+"/"+e.Name())
		}
	}
	return out
}

// contentOf maps each file of the data trees of roots, as a backup scans
// them, to its SHA-256.
func contentOf(t *testing.T, roots banyandb.Roots) map[string]string {
	t.Helper()
	var cats []banyandb.Catalog // a snapshot has the catalogs the node holds a group of
	for c := range roots.Data {
		cats = append(cats, c)
	}
	l, err := banyandb.Scan(context.Background(), roots, banyandb.ScanOptions{Catalogs: cats, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range l.Files {
		data, err := os.ReadFile(filepath.Join(roots.DataDir(f.Catalog), f.Path))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		key := string(f.Catalog) + "/" + f.Path
		if f.Part != "" {
			key += " (part)"
		}
		out[key] = hex.EncodeToString(sum[:])
	}
	return out
}

// countParts counts the part files among content's keys.
func countParts(content map[string]string) int {
	n := 0
	for p := range content {
		if strings.HasSuffix(p, " (part)") && !strings.HasPrefix(p, "property/") && !strings.HasPrefix(p, "schema-property/") {
			n++
		}
	}
	return n
}
