package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// The placement table covers every group of every catalog, internal ones
// included, by group name then shard; nodes are sorted as strings, so
// 10.0.0.10 comes before 10.0.0.2; replica r of entry i goes to node
// (i + r) mod n, each node once.
func TestPlacement(t *testing.T) {
	t.Parallel()
	schema := &Schema{Groups: []GroupDef{
		{Catalog: "stream", Name: "sw_log", Shards: 1},
		{Catalog: "measure", Name: "sw_metric", Shards: 2},
		{Catalog: "property", Name: "_property_gossip", Shards: 1},
		{Catalog: "property", Name: "_deletion_task", Shards: 1},
	}}
	table := PlacementTable(schema)
	want := []ShardKey{{"_deletion_task", 0}, {"_property_gossip", 0}, {"sw_log", 0}, {"sw_metric", 0}, {"sw_metric", 1}}
	if !reflect.DeepEqual(table, want) {
		t.Fatalf("table %v, want %v", table, want)
	}
	nodes := []string{"10.0.0.2:17912", "10.0.0.3:17912", "10.0.0.10:17912"}
	tests := []struct {
		index, replicas int
		nodes           []string
		want            []string
	}{
		{0, 0, nodes, []string{"10.0.0.10:17912"}},
		{1, 0, nodes, []string{"10.0.0.2:17912"}},
		{3, 1, nodes, []string{"10.0.0.10:17912", "10.0.0.2:17912"}},
		{4, 1, nodes, []string{"10.0.0.2:17912", "10.0.0.3:17912"}},
		{2, 5, nodes, []string{"10.0.0.3:17912", "10.0.0.10:17912", "10.0.0.2:17912"}},
		{4, 0, nodes[:2], []string{"10.0.0.2:17912"}},
		{4, 0, nil, nil},
	}
	for _, tt := range tests {
		if got := Place(tt.index, tt.replicas, tt.nodes); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Place(%d, %d, %v) = %v, want %v", tt.index, tt.replicas, tt.nodes, got, tt.want)
		}
	}
	if err := (&Schema{Groups: []GroupDef{{Catalog: "measure", Name: "a", Shards: 1}, {Catalog: "stream", Name: "a", Shards: 1}}}).Check(); err == nil {
		t.Error("a group name used twice was accepted")
	}
}

// The schema derived from the 0.11 fixture names its groups with their
// shard counts, units and trace index rules.
func TestSchemaFromFixture(t *testing.T) {
	t.Parallel()
	s, err := SchemaFromRoot(filepath.Join(fixtureTop, "data"), time.UTC, 1)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]GroupDef{}
	for _, g := range s.Groups {
		got[g.Name] = g
	}
	if g := got["bk_measure"]; g.Catalog != "measure" || g.Shards != 2 || g.SegmentInterval != "day" || g.Replicas != 1 {
		t.Errorf("bk_measure: %+v", g)
	}
	if g := got["bk_trace"]; g.Catalog != "trace" || len(g.IndexRules) != 2 {
		t.Errorf("bk_trace: %+v", g)
	}
	if g := got["bk_prop"]; g.Catalog != "property" || g.Shards != 1 {
		t.Errorf("bk_prop: %+v", g)
	}
	if _, ok := got["_schema"]; ok || len(s.Groups) != 4 {
		t.Errorf("groups %v: want the 4 fixture groups, not the schema group", s.Groups)
	}
}

// A liaison answers Snapshot, on gRPC and HTTP, with success and an empty
// list, and makes no snapshot directory.
func TestLiaisonSnapshotIsEmpty(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 1, 0, nil)
	tc.steps(t, 2)
	resp, err := grpcClient(t, tc.liaison).Snapshot(context.Background(), &databasev1.SnapshotRequest{})
	if err != nil || len(resp.GetSnapshots()) != 0 {
		t.Fatalf("gRPC Snapshot on the liaison: %v, %v", resp, err)
	}
	code, body := httpDo(t, tc.liaison, http.MethodPost, "/api/v1/snapshot", "{}")
	if code != http.StatusOK || strings.TrimSpace(body) != `{"snapshots":[]}` {
		t.Fatalf("HTTP snapshot on the liaison: %d %s", code, body)
	}
	for _, c := range banyandb.AllCatalogs() {
		if entries, err := os.ReadDir(tc.liaison.roots.SnapshotsDir(c)); err == nil && len(entries) > 0 {
			t.Errorf("the liaison made a snapshot under %s", tc.liaison.roots.SnapshotsDir(c))
		}
	}
	// A data node's answer names its snapshots.
	resp, err = grpcClient(t, tc.data[0]).Snapshot(context.Background(), &databasev1.SnapshotRequest{})
	if err != nil || len(resp.GetSnapshots()) == 0 {
		t.Fatalf("gRPC Snapshot on a data node: %v, %v", resp, err)
	}
}

// Written parts go from the liaison's queue to the data nodes that
// placement over the live nodes, sorted by name, picks; once delivered,
// the queue holds only lock and .snp files. A node that stops is left
// out: its shards go to the next nodes, which keep them.
func TestLiaisonPlacesPartsOnLiveNodes(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, 0, nil)
	for _, s := range append(slices.Clone(tc.data), tc.liaison) {
		host, _, _ := strings.Cut(s.Name(), ":")
		if host != "127.0.0.1" || !strings.HasSuffix(s.GRPCAddr(), s.Name()[len(host):]) {
			t.Fatalf("node name %q for gRPC address %s, want 127.0.0.1:<gRPC port>", s.Name(), s.GRPCAddr())
		}
	}
	tc.steps(t, 3)
	names := tc.names()
	for _, s := range tc.data {
		if got, want := heldShards(t, s), placedOn(tc.schema, s.Name(), names); !slices.Equal(got, want) {
			t.Errorf("node %s holds %v, placement gives it %v", s.Name(), got, want)
		}
	}
	if q := queuedParts(t, tc.liaison); len(q) != 0 {
		t.Errorf("parts still queued after delivery: %v", q)
	}
	st := tc.liaison.Stats()
	if st.PartsDelivered == 0 || st.PartsQueued != 0 || st.PartsFailed != 0 {
		t.Errorf("liaison stats %+v", st)
	}
	// A quiet queue: every shard directory holds only .snp files (and
	// the group's lock above it).
	err := filepath.WalkDir(tc.liaison.roots.DataDir(banyandb.Measure), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if _, ok := banyandb.SnpEpoch(d.Name()); !ok && d.Name() != lockFileName {
			t.Errorf("the drained queue holds %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Stop the node that holds bk_measure's shard 0; the next writes of
	// that shard go to the node placement picks over the other two.
	sorted := slices.Sorted(slices.Values(names))
	down := sorted[0]
	var survivors []string
	for _, s := range tc.data {
		if s.Name() == down {
			stopNow(t, s)
		} else {
			survivors = append(survivors, s.Name())
		}
	}
	if _, err := tc.liaison.RefreshNodes(context.Background()); err != nil {
		t.Fatal(err)
	}
	tc.steps(t, 2)
	heir := Place(slices.Index(PlacementTable(tc.schema), ShardKey{"bk_measure", 0}), 0, survivors)[0]
	for _, s := range tc.data {
		if s.Name() == heir && !slices.Contains(heldShards(t, s), "bk_measure/shard-0") {
			t.Errorf("node %s did not take bk_measure shard 0 while %s was down: holds %v", heir, down, heldShards(t, s))
		}
	}
	if q := queuedParts(t, tc.liaison); len(q) != 0 {
		t.Errorf("parts still queued with a node down: %v", q)
	}
}

// stopNow stops a server.
func stopNow(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// With one replica every part goes to two nodes, byte for byte the same
// (so that a repository stores the second copy for nothing).
func TestReplicasAreIdentical(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 3, 1, nil)
	tc.steps(t, 3)                  // two rounds flushed and delivered, one in memory
	copies := map[string][]string{} // group/shard/minTS → part dirs
	for _, s := range tc.data {
		dir := s.roots.DataDir(banyandb.Measure)
		for _, seg := range listNames(t, filepath.Join(dir, "bk_measure"), func(e os.DirEntry) bool { return strings.HasPrefix(e.Name(), "seg-") }) {
			for _, sh := range []string{"shard-0", "shard-1"} {
				shardDir := filepath.Join(dir, "bk_measure", seg, sh)
				if !isDir(shardDir) {
					continue
				}
				for _, p := range partDirsIn(t, shardDir) {
					b, err := os.ReadFile(filepath.Join(shardDir, p, banyandb.PartMetadataFile))
					if err != nil {
						t.Fatal(err)
					}
					key := sh + string(b)
					copies[key] = append(copies[key], filepath.Join(shardDir, p))
				}
			}
		}
	}
	if len(copies) != 4 { // 2 shards × 2 rounds
		t.Fatalf("%d distinct measure parts, want 4", len(copies))
	}
	for key, dirs := range copies {
		if len(dirs) != 2 {
			t.Errorf("part %s has %d copies, want 2", key, len(dirs))
			continue
		}
		for _, f := range listNames(t, dirs[0], func(e os.DirEntry) bool { return e.Type().IsRegular() }) {
			sameContent(t, filepath.Join(dirs[0], f), filepath.Join(dirs[1], f))
		}
	}
}

// A liaison that cannot drain (hold_queue) keeps its flushed parts in its
// queue shards, listed in their .snp, and reports them; once released it
// delivers them. Parts a data node refuses go to failed-parts/ after the
// sync attempts, capped in size, and are never sent again.
func TestLiaisonQueueAndFailedParts(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 1, 0, func(c *Config) { c.Cluster.SyncAttempts = 2 })
	if err := tc.liaison.SetFaults(Faults{HoldQueue: true}); err != nil {
		t.Fatal(err)
	}
	tc.steps(t, 3) // 2 flushed rounds queued, 1 in memory
	queued := queuedParts(t, tc.liaison)
	q := tc.liaison.QueueState()
	if len(queued) == 0 || q.Parts != len(queued) || q.Bytes == 0 || q.OldestFlush == nil {
		t.Fatalf("held queue: %d part directories, state %+v", len(queued), q)
	}
	shardDir := filepath.Join(tc.liaison.roots.DataDir(banyandb.Measure), "bk_measure", "shard-0")
	snps := snpFilesIn(t, shardDir)
	if listed := readSnpFile(t, filepath.Join(shardDir, snps[len(snps)-1])); !reflect.DeepEqual(listed, partDirsIn(t, shardDir)) {
		t.Errorf("queue .snp lists %v, the shard holds %v", listed, partDirsIn(t, shardDir))
	}
	var cs ClusterState
	code, body := httpDo(t, tc.liaison, http.MethodGet, "/sim/cluster", "")
	if err := json.Unmarshal([]byte(body), &cs); code != http.StatusOK || err != nil || cs.Role != "liaison" ||
		cs.Queue == nil || cs.Queue.Parts != len(queued) || len(cs.Nodes) != 1 || !cs.Nodes[0].Up || len(cs.Placement) != 5 {
		t.Fatalf("GET /sim/cluster: %d %s", code, body)
	}
	if err := tc.liaison.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if err := tc.liaison.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := queuedParts(t, tc.liaison); len(left) != 0 {
		t.Fatalf("released queue still holds %v", left)
	}

	// A data node that refuses parts: two failed rounds, then failed-parts/.
	if err := tc.data[0].SetFaults(Faults{RefuseParts: true}); err != nil {
		t.Fatal(err)
	}
	tc.steps(t, 2) // the first round's parts fail twice
	if _, err := tc.liaison.RefreshNodes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tc.liaison.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	q = tc.liaison.QueueState()
	failed := filepath.Join(shardDir, failedPartsDir)
	if q.FailedParts == 0 || !isDir(failed) || len(partDirsIn(t, failed)) == 0 {
		t.Fatalf("no failed parts after refused deliveries: %+v", q)
	}
	for _, p := range partDirsIn(t, failed) {
		if slices.Contains(readSnpFile(t, filepath.Join(shardDir, lastOf(snpFilesIn(t, shardDir)))), p) {
			t.Errorf("failed part %s is still listed in the queue", p)
		}
	}
	if st := tc.data[0].Stats(); st.PartsRefused == 0 {
		t.Errorf("data node stats %+v", st)
	}
	// The cap: one byte keeps nothing but deletes the oldest first.
	if err := capFailedParts(failed, 1); err != nil {
		t.Fatal(err)
	}
	if left := partDirsIn(t, failed); len(left) != 0 {
		t.Errorf("failed-parts/ over its cap still holds %v", left)
	}
}

func lastOf(list []string) string { return list[len(list)-1] }

// A data node loads only the shards numbered below its group's shard
// count, and its snapshots hold only those; the others stay on disk.
func TestDataNodeLoadsShardsBelowCount(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 1, 0, nil)
	tc.steps(t, 2)
	node := tc.data[0]
	segs := listNames(t, filepath.Join(node.roots.DataDir(banyandb.Stream), "bk_stream"), func(e os.DirEntry) bool {
		return strings.HasPrefix(e.Name(), "seg-")
	})
	if len(segs) == 0 {
		t.Fatal("the data node got no stream segment")
	}
	stray := filepath.Join(node.roots.DataDir(banyandb.Stream), "bk_stream", segs[0], "shard-3")
	if err := copyTree(context.Background(), filepath.Join(filepath.Dir(stray), "shard-0"), stray); err != nil {
		t.Fatal(err)
	}
	stopNow(t, node)
	cfg := node.cfg
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	restarted := startWith(t, cfg)
	resp, err := grpcClient(t, restarted).Snapshot(context.Background(), &databasev1.SnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var name string
	for _, sn := range resp.GetSnapshots() {
		if sn.GetCatalog() == commonv1.Catalog_CATALOG_STREAM {
			name = sn.GetName()
		}
	}
	snap := filepath.Join(restarted.roots.SnapshotsDir(banyandb.Stream), name, "bk_stream", segs[0])
	if !isDir(filepath.Join(snap, "shard-0")) || isDir(filepath.Join(snap, "shard-3")) {
		t.Errorf("snapshot of the segment holds %v, want shard-0 only", listNames(t, snap, func(os.DirEntry) bool { return true }))
	}
	if !isDir(stray) {
		t.Error("the data node removed a shard it does not load")
	}
}

// A liaison restarted with parts in its queue delivers them.
func TestLiaisonDeliversQueueAfterRestart(t *testing.T) {
	t.Parallel()
	tc := startCluster(t, 1, 0, nil)
	if err := tc.liaison.SetFaults(Faults{HoldQueue: true}); err != nil {
		t.Fatal(err)
	}
	tc.steps(t, 2)
	if len(queuedParts(t, tc.liaison)) == 0 {
		t.Fatal("nothing queued")
	}
	stopNow(t, tc.liaison)
	cfg := tc.liaison.cfg
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.Faults = "127.0.0.1:0", "127.0.0.1:0", Faults{}
	restarted := startWith(t, cfg)
	if got := restarted.QueueState().Parts; got == 0 {
		t.Fatal("the restarted liaison does not see its queue")
	}
	if err := restarted.Deliver(context.Background()); err != nil {
		t.Fatal(err)
	}
	if left := queuedParts(t, restarted); len(left) != 0 {
		t.Errorf("still queued after restart and delivery: %v", left)
	}
	if st := tc.data[0].Stats(); st.PartsReceived == 0 {
		t.Errorf("the data node received nothing: %+v", st)
	}
}

// Cluster roles need a schema, and a liaison its discovery file.
func TestClusterConfigRefusals(t *testing.T) {
	t.Parallel()
	schema := &Schema{Groups: []GroupDef{{Catalog: "measure", Name: "m", Shards: 1}}}
	for _, c := range []Cluster{
		{Role: RoleData},
		{Role: RoleLiaison, Schema: schema},
		{Role: "hot", Schema: schema},
		{Role: RoleData, Schema: &Schema{Groups: []GroupDef{{Catalog: "schema-property", Name: "_schema", Shards: 1}}}},
	} {
		cfg := testConfig(t.TempDir())
		cfg.Cluster = c
		if _, err := New(cfg); err == nil {
			t.Errorf("New accepted %+v", c)
		}
	}
}
