package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/cluster"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// simBin builds banyand-sim once, beside the banyan-backup binary.
var simBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(filepath.Dir(binary), "banyand-sim")
	if out, err := exec.Command("go", "build", "-o", bin, "../banyand-sim").CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build banyand-sim: %v\n%s", err, out)
	}
	return bin, nil
})

// clusterNode is a banyand-sim process of a cluster and its agent, a
// `banyan-backup agent` process.
type clusterNode struct {
	grpc, http, name, root string
	agent                  *serveProc
}

// startClusterNode starts banyand-sim with args and waits until ready.
func startClusterNode(t *testing.T, root string, args ...string) *clusterNode {
	t.Helper()
	bin, err := simBin()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--root", root}, args...)...)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	n := &clusterNode{root: root}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			kind, v, _ := strings.Cut(sc.Text(), " ")
			switch kind {
			case "grpc":
				n.grpc = v
			case "http":
				n.http = v
			case "name":
				n.name = v
			case "ready":
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(90 * time.Second):
		t.Fatalf("banyand-sim not ready: %s", stderr.String())
	}
	return n
}

// simStats reads a node's counters.
func (n *clusterNode) simStats(t *testing.T) sim.Stats {
	t.Helper()
	st, err := sim.FetchStats(t.Context(), n.http)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// testClusterCLI is three data nodes and a liaison writing to them, each
// a process with a `banyan-backup agent` process beside it, all knowing
// the repository as "main".
type testClusterCLI struct {
	data      []*clusterNode
	liaison   *clusterNode
	discovery string
	repo      string
	tokenFile string
}

func startClusterCLI(t *testing.T) *testClusterCLI {
	t.Helper()
	archive, err := fixture.Path(fixture.V011)
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--from-fixture", archive,
		"--node-host", "127.0.0.1", "--replicas", "1", "--flush-interval", "100ms", "--part-size", "2KiB"}
	tc := &testClusterCLI{discovery: filepath.Join(t.TempDir(), "nodes.yaml"), repo: filepath.Join(t.TempDir(), "repo"),
		tokenFile: filepath.Join(t.TempDir(), "token")}
	var f sim.DiscoveryFile
	for i := range 3 {
		n := startClusterNode(t, filepath.Join(t.TempDir(), "data"), append([]string{"--role", "data"}, common...)...)
		tc.data = append(tc.data, n)
		f.Nodes = append(f.Nodes, sim.DiscoveryNode{Name: fmt.Sprintf("data-%d", i), GRPCAddress: n.grpc})
	}
	if err := sim.WriteDiscoveryFile(tc.discovery, &f); err != nil {
		t.Fatal(err)
	}
	tc.liaison = startClusterNode(t, filepath.Join(t.TempDir(), "liaison"), append([]string{"--role", "liaison",
		"--node-discovery-file", tc.discovery, "--node-discovery-interval", "200ms", "--sync-interval", "100ms",
		"--start-time", "2026-11-23T00:00:00Z"}, common...)...)
	f.Nodes = append(f.Nodes, sim.DiscoveryNode{Name: "liaison-0", GRPCAddress: tc.liaison.grpc})
	if err := sim.WriteDiscoveryFile(tc.discovery, &f); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "init", "--repo", tc.repo)
	if err := os.WriteFile(tc.tokenFile, []byte(strings.Repeat("t0k3n", 8)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, n := range append(tc.data, tc.liaison) {
		role := "data"
		if n == tc.liaison {
			role = "liaison"
		}
		n.agent = startListening(t, "agent", "--token-file", tc.tokenFile, "--role", role, "--node", n.grpc, "--root", n.root,
			"--listen", "127.0.0.1:0", "--state-dir", filepath.Join(t.TempDir(), "state"), "--repository", "main="+tc.repo,
			"--node-name", n.name)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, n := range tc.data {
		for n.simStats(t).PartsReceived == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("data node %s received no part", n.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return tc
}

// backupArgs are `cluster backup`'s arguments for the cluster: the
// discovery file, and each agent given by --agent.
func (tc *testClusterCLI) backupArgs(extra ...string) []string {
	args := []string{"cluster", "backup", "--repo", tc.repo, "--repo-name", "main", "--node-discovery-file", tc.discovery,
		"--token-file", tc.tokenFile, "--cluster", "test", "--lease", "2m"}
	for _, n := range append(tc.data, tc.liaison) {
		args = append(args, "--agent", n.grpc+"=http://"+n.agent.addr)
	}
	return append(args, extra...)
}

// snapshotsLeft lists the snapshot directories on the data nodes.
func (tc *testClusterCLI) snapshotsLeft() []string {
	var out []string
	for _, n := range tc.data {
		dirs, _ := filepath.Glob(filepath.Join(n.root, "*", "snapshots", "*"))
		out = append(out, dirs...)
	}
	return out
}

// A data node whose snapshot fails ends `cluster backup` with exit 1 and
// an error naming the node; nothing is left on any node, and the
// repository holds no set and verifies.
func TestClusterBackupSnapshotFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eight processes")
	}
	tc := startClusterCLI(t)
	victim := tc.data[0]
	resp, err := http.Post("http://"+victim.http+"/sim/faults", "application/json", bytes.NewBufferString(`{"error_catalog":"measure"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r := run(t, tc.backupArgs()...)
	if r.code != exitError || !strings.Contains(r.stderr, "node "+victim.grpc+" failed at snapshot") ||
		!strings.Contains(r.stderr, "no set written") {
		t.Fatalf("cluster backup with a failing snapshot: exit %d\n%s", r.code, r.stderr)
	}
	if left := tc.snapshotsLeft(); len(left) != 0 {
		t.Errorf("snapshots left: %v", left)
	}
	if out := mustRun(t, "list", "--repo", tc.repo, "--json"); strings.Contains(out, `"operation"`) {
		t.Errorf("a set after a failed run:\n%s", out)
	}
	mustRun(t, "verify", "--repo", tc.repo)
}

// Usage errors: no token file; no node found; an agent for a node the
// discovery file does not list.
func TestClusterBackupUsage(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte(strings.Repeat("x", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	nodes := filepath.Join(t.TempDir(), "nodes.yaml")
	if err := os.WriteFile(nodes, []byte("nodes:\n  - name: data-0\n    grpc_address: 127.0.0.1:17912\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--node-discovery-file", nodes}, "--token-file"},
		{[]string{"--token-file", token}, "discovery lists no node"},
		{[]string{"--token-file", token, "--node-discovery-file", nodes, "--agent", "127.0.0.1:1=http://127.0.0.1:2"}, "does not list"},
		{[]string{"--token-file", token, "--node-discovery-file", nodes, "--undrained", "maybe"}, "--undrained"},
	} {
		r := run(t, append([]string{"cluster", "backup", "--repo", repo}, c.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, c.want) {
			t.Errorf("cluster backup %v: exit %d, %s", c.args, r.code, r.stderr)
		}
	}
}

// Three data nodes and a liaison under write load, each with an agent
// process: `cluster backup` commits a set whose report names every node;
// the repository verifies and lists the set; each data node's backup
// restores onto a fresh root that passes `check`; no snapshot is left.
func TestClusterBackupCommitsAndRestores(t *testing.T) {
	if testing.Short() {
		t.Skip("runs eight processes")
	}
	tc := startClusterCLI(t)
	r := run(t, tc.backupArgs("--json", "--tag", "nightly")...)
	if r.code != exitOK {
		t.Fatalf("cluster backup: exit %d\n%s", r.code, r.stderr)
	}
	var rep cluster.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Set == nil || rep.ID == "" {
		t.Fatalf("report %v:\n%s", err, r.stdout)
	}
	if rep.Set.DataNodes() != 3 || len(rep.Set.Nodes) != 4 || rep.WindowSeconds <= 0 || len(rep.Phases) != 7 || rep.Duplicates == nil || len(rep.Set.Watermark) == 0 {
		t.Errorf("report %+v", rep)
	}
	t.Logf("window %.3fs, phases %+v", rep.WindowSeconds, rep.Phases)
	mustRun(t, "verify", "--repo", tc.repo)
	if out := mustRun(t, "show", "--repo", tc.repo, rep.ID[:12]); !strings.Contains(out, "backup set  "+rep.ID) {
		t.Errorf("show of the set:\n%s", out)
	}
	// Onto a new cluster of three fresh roots, in sorted-name order: the
	// new node new-i gets the i-th old node by name.
	restoreArgs := []string{"cluster", "restore", "--repo", tc.repo, "--set", rep.ID[:12]}
	var targets []string
	for i := range 3 {
		targets = append(targets, filepath.Join(t.TempDir(), "restored"))
		restoreArgs = append(restoreArgs, "--node-target", fmt.Sprintf("new-%d:17912=%s", i, targets[i]))
	}
	mustRun(t, restoreArgs...)
	var old []string
	for _, n := range rep.Set.Nodes {
		if n.Backup != nil {
			old = append(old, n.Name)
		}
	}
	slices.Sort(old)
	for i, target := range targets {
		if c := run(t, "check", target); c.code != exitOK {
			t.Errorf("check of node %s's root restored onto new-%d: exit %d\n%s%s", old[i], i, c.code, c.stdout, c.stderr)
		}
		// The same node's backup, restored alone, is the same tree.
		alone := filepath.Join(t.TempDir(), "alone")
		mustRun(t, "restore", "--repo", tc.repo, "--set", rep.ID[:12], "--node", old[i], "--target", alone)
		if out, err := exec.Command("diff", "-r", alone, target).CombinedOutput(); err != nil {
			t.Errorf("node %s restored onto new-%d differs from its backup restored alone: %v\n%s", old[i], i, err, out)
		}
	}
	if left := tc.snapshotsLeft(); len(left) != 0 {
		t.Errorf("snapshots left: %v", left)
	}
	text := run(t, tc.backupArgs()...)
	if text.code != exitOK || !strings.Contains(text.stdout, "backup set  ") || !strings.Contains(text.stdout, "phases") {
		t.Errorf("second cluster backup (text): exit %d\n%s%s", text.code, text.stdout, text.stderr)
	}
}
