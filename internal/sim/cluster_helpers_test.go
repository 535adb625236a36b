package sim

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// clusterStart is the simulated clock of the test clusters' liaisons.
var clusterStart = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// testCluster is data nodes and one liaison, each a Server in the test
// process with its own root and listeners.
type testCluster struct {
	schema    *Schema
	data      []*Server
	liaison   *Server
	discovery string
}

// startCluster starts n data nodes seeded with the 0.11 fixture's schemas
// and a liaison whose discovery file lists them, with the fixture's groups
// at the given replicas. The liaison runs no background workload or
// sender: tests call Step and Deliver. mod changes each config.
func startCluster(t *testing.T, n, replicas int, mod func(*Config)) *testCluster {
	t.Helper()
	schema, err := SchemaFromRoot(filepath.Join(fixtureTop, "data"), time.UTC, replicas)
	if err != nil {
		t.Fatal(err)
	}
	tc := &testCluster{schema: schema, discovery: filepath.Join(t.TempDir(), "nodes.yaml")}
	var f DiscoveryFile
	for i := range n {
		root := filepath.Join(t.TempDir(), "data")
		if err := SeedClusterNode(context.Background(), fixtureTop, root); err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(root)
		cfg.Cluster = Cluster{Role: RoleData, Schema: schema, NodeHost: "127.0.0.1"}
		if mod != nil {
			mod(&cfg)
		}
		s := startWith(t, cfg)
		tc.data = append(tc.data, s)
		f.Nodes = append(f.Nodes, DiscoveryNode{Name: "data-" + string(rune('0'+i)), GRPCAddress: s.GRPCAddr()})
	}
	if err := WriteDiscoveryFile(tc.discovery, &f); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(filepath.Join(t.TempDir(), "liaison"))
	cfg.Workload.StartTime = clusterStart
	cfg.Cluster = Cluster{Role: RoleLiaison, Schema: schema, NodeHost: "127.0.0.1", DiscoveryFile: tc.discovery,
		DiscoveryInterval: time.Hour, CallTimeout: 10 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	tc.liaison = startWith(t, cfg)
	return tc
}

// steps runs n liaison steps, each followed by a delivery round.
func (tc *testCluster) steps(t *testing.T, n int) {
	t.Helper()
	for range n {
		if err := tc.liaison.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := tc.liaison.Deliver(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// names returns the data nodes' names.
func (tc *testCluster) names() []string {
	var out []string
	for _, s := range tc.data {
		out = append(out, s.Name())
	}
	return out
}

// heldShards lists the group/shard-N a data node holds parts of, over
// every segment.
func heldShards(t *testing.T, s *Server) []string {
	t.Helper()
	held := map[string]bool{}
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		dir := s.roots.DataDir(c)
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() || !banyandb.IsPartName(d.Name()) {
				return nil
			}
			rel, _ := filepath.Rel(dir, p)
			parts := strings.Split(filepath.ToSlash(rel), "/")
			if len(parts) == 4 && strings.HasPrefix(parts[2], shardPrefix) { // group/seg/shard/part
				held[parts[0]+"/"+parts[2]] = true
			}
			return fs.SkipDir
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	out := make([]string, 0, len(held))
	for k := range held {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// placedOn lists the group/shard-N of the written groups that placement
// over nodes gives to node.
func placedOn(schema *Schema, node string, nodes []string) []string {
	var out []string
	for i, k := range PlacementTable(schema) {
		def, _ := schema.Group(k.Group)
		if !def.catalog().HasSegments() {
			continue
		}
		for _, n := range Place(i, def.Replicas, nodes) {
			if n == node {
				out = append(out, k.Group+"/"+shardPrefix+string(rune('0'+k.Shard)))
			}
		}
	}
	sort.Strings(out)
	return out
}

// queuedParts lists the part directories in a liaison's queue shards.
func queuedParts(t *testing.T, s *Server) []string {
	t.Helper()
	var out []string
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		groups, err := os.ReadDir(s.roots.DataDir(c))
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			shards, _ := os.ReadDir(filepath.Join(s.roots.DataDir(c), g.Name()))
			for _, sh := range shards {
				if _, ok := shardNumber(sh.Name()); ok && sh.IsDir() {
					for _, p := range partDirsIn(t, filepath.Join(s.roots.DataDir(c), g.Name(), sh.Name())) {
						out = append(out, g.Name()+"/"+sh.Name()+"/"+p)
					}
				}
			}
		}
	}
	return out
}
