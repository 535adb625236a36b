package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// Three data nodes and a liaison, each its own process: the liaison finds
// the nodes in its discovery file, names them <host>:<gRPC port>, and
// delivers its writes to all three (one replica: every shard on two
// nodes); its snapshot answer is empty.
func TestClusterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and runs four processes")
	}
	bin := buildSim(t)
	archive, err := fixture.Path(fixture.V011)
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--from-fixture", archive,
		"--node-host", "127.0.0.1", "--replicas", "1", "--flush-interval", "50ms", "--part-size", "2KiB"}
	var data []*proc
	var nodes sim.DiscoveryFile
	for i := range 3 {
		p := startSim(t, bin, append([]string{"--role", "data", "--root", filepath.Join(t.TempDir(), "data")}, common...)...)
		if _, port, _ := strings.Cut(p.addrs["grpc"], ":"); p.name != "127.0.0.1:"+port {
			t.Fatalf("data node %d is named %q, its gRPC address is %s", i, p.name, p.addrs["grpc"])
		}
		data = append(data, p)
		nodes.Nodes = append(nodes.Nodes, sim.DiscoveryNode{Name: "data-" + string(rune('0'+i)), GRPCAddress: p.addrs["grpc"]})
	}
	discovery := filepath.Join(t.TempDir(), "nodes.yaml")
	if err := sim.WriteDiscoveryFile(discovery, &nodes); err != nil {
		t.Fatal(err)
	}
	liaison := startSim(t, bin, append([]string{"--role", "liaison", "--root", filepath.Join(t.TempDir(), "liaison"),
		"--node-discovery-file", discovery, "--node-discovery-interval", "200ms", "--sync-interval", "50ms",
		"--start-time", "2026-11-23T00:00:00Z"}, common...)...)

	// Every data node gets parts; wait generously on a loaded machine.
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; i < len(data); {
		var st sim.Stats
		if err := json.Unmarshal([]byte(data[i].get(t, "/sim/stats")), &st); err != nil {
			t.Fatal(err)
		}
		if st.PartsReceived > 0 {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("data node %s received no part; liaison: %s", data[i].name, liaison.get(t, "/sim/cluster"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	var cs sim.ClusterState
	if err := json.Unmarshal([]byte(liaison.get(t, "/sim/cluster")), &cs); err != nil {
		t.Fatal(err)
	}
	up := 0
	for _, n := range cs.Nodes {
		if n.Up {
			up++
		}
	}
	if cs.Role != "liaison" || up != 3 || len(cs.Placement) == 0 || len(cs.Placement[0].Nodes) != 2 {
		t.Errorf("liaison's view: %+v", cs)
	}
	resp, err := http.Post("http://"+liaison.addrs["http"]+"/api/v1/snapshot", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct {
		Snapshots []json.RawMessage `json:"snapshots"`
	}
	err = json.NewDecoder(resp.Body).Decode(&answer)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || answer.Snapshots == nil || len(answer.Snapshots) != 0 {
		t.Errorf("the liaison's snapshot answer: %d %+v %v", resp.StatusCode, answer, err)
	}
	liaison.stop(t)
	for _, p := range data {
		p.stop(t)
	}
}
