package cluster_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/cluster"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

const testToken = "0123456789abcdefghijklmnopqrstuvwxyzABCD"

// simBinary is banyand-sim, built once by TestMain.
var simBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bb-cluster-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	simBinary = filepath.Join(dir, "banyand-sim")
	if out, err := exec.Command("go", "build", "-o", simBinary, "../../cmd/banyand-sim").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cannot build banyand-sim: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// simProc is a banyand-sim process.
type simProc struct {
	cmd    *exec.Cmd
	root   string
	grpc   string
	http   string
	name   string
	stderr *bytes.Buffer
	exited chan struct{}
}

// startSimProc starts banyand-sim with args and waits until it is ready.
func startSimProc(t *testing.T, root string, args ...string) *simProc {
	t.Helper()
	p := &simProc{cmd: exec.Command(simBinary, append([]string{"--root", root}, args...)...), root: root,
		stderr: &bytes.Buffer{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
	})
	timeout := time.After(90 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("banyand-sim exited before ready: %s", p.stderr.String())
			}
			kind, v, _ := strings.Cut(line, " ")
			switch kind {
			case "ready":
				return p
			case "grpc":
				p.grpc = v
			case "http":
				p.http = v
			case "name":
				p.name = v
			}
		case <-timeout:
			t.Fatalf("banyand-sim not ready in time: %s", p.stderr.String())
		}
	}
}

// post sends body to path on the process's HTTP port.
func (p *simProc) post(t *testing.T, path, body string) {
	t.Helper()
	resp, err := http.Post("http://"+p.http+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
}

// stats reads the process's counters.
func (p *simProc) stats(t *testing.T) sim.Stats {
	t.Helper()
	st, err := sim.FetchStats(t.Context(), p.http)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// testCluster is three data nodes and a liaison writing to them, each a
// banyand-sim process, with an agent (in this process) beside each, and a
// repository the agents know as "main".
type testCluster struct {
	data      []*simProc
	liaison   *simProc
	agents    map[string]*testAgent // by node address
	discovery string
	repoDir   string
}

// testAgent is an agent served over HTTP.
type testAgent struct {
	srv  *agent.Server
	http *httptest.Server
	proc *simProc
}

// startCluster starts the cluster and waits until every data node has
// received parts from the liaison.
func startCluster(t *testing.T) *testCluster {
	t.Helper()
	archive, err := fixture.Path(fixture.V011)
	if err != nil {
		t.Fatal(err)
	}
	common := []string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--from-fixture", archive,
		"--node-host", "127.0.0.1", "--replicas", "1", "--flush-interval", "100ms", "--part-size", "2KiB"}
	tc := &testCluster{agents: map[string]*testAgent{}, discovery: filepath.Join(t.TempDir(), "nodes.yaml"),
		repoDir: filepath.Join(t.TempDir(), "repo")}
	var f sim.DiscoveryFile
	for i := range 3 {
		p := startSimProc(t, filepath.Join(t.TempDir(), "data"), append([]string{"--role", "data"}, common...)...)
		tc.data = append(tc.data, p)
		f.Nodes = append(f.Nodes, sim.DiscoveryNode{Name: fmt.Sprintf("data-%d", i), GRPCAddress: p.grpc})
	}
	if err := sim.WriteDiscoveryFile(tc.discovery, &f); err != nil {
		t.Fatal(err)
	}
	tc.liaison = startSimProc(t, filepath.Join(t.TempDir(), "liaison"), append([]string{"--role", "liaison",
		"--node-discovery-file", tc.discovery, "--node-discovery-interval", "200ms", "--sync-interval", "100ms",
		"--start-time", "2026-11-23T00:00:00Z"}, common...)...)
	// BanyanDB's file lists the liaisons too, by their internal address.
	f.Nodes = append(f.Nodes, sim.DiscoveryNode{Name: "liaison-0", GRPCAddress: tc.liaison.grpc})
	if err := sim.WriteDiscoveryFile(tc.discovery, &f); err != nil {
		t.Fatal(err)
	}
	r, err := engine.Init(context.Background(), tc.repoDir, repository.InitOptions{}, engine.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
	for _, p := range tc.data {
		tc.agents[p.grpc] = tc.startAgent(t, p, agent.RoleData)
	}
	tc.agents[tc.liaison.grpc] = tc.startAgent(t, tc.liaison, agent.RoleLiaison)
	tc.waitDelivered(t)
	return tc
}

// startAgent serves an agent beside p; mod (nil: none) changes its
// options.
func (tc *testCluster) startAgent(t *testing.T, p *simProc, role string, mod ...func(*agent.Options)) *testAgent {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := agent.Options{TokenFile: tokenFile, Role: role, NodeName: p.name, Node: snapshot.Options{Node: p.grpc},
		Roots: banyandb.Roots{Root: p.root}, StateDir: filepath.Join(t.TempDir(), "state"), Version: "test",
		OpenRepository: func(ctx context.Context, name string) (*engine.Repo, error) {
			if name != "main" {
				return nil, fmt.Errorf("no repository %q", name)
			}
			return engine.Open(ctx, tc.repoDir, engine.StoreOptions{})
		}}
	for _, fn := range mod {
		fn(&opts)
	}
	a, err := agent.New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = a.Close(context.Background())
	})
	return &testAgent{srv: a, http: hs, proc: p}
}

// waitDelivered waits until every data node has received parts.
func (tc *testCluster) waitDelivered(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for _, p := range tc.data {
		for p.stats(t).PartsReceived == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("data node %s received no part", p.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// nodes discovers the cluster from its discovery file, each agent by
// the explicit list.
func (tc *testCluster) nodes(t *testing.T) []cluster.Node {
	t.Helper()
	agents := map[string]string{}
	for addr, a := range tc.agents {
		agents[addr] = a.http.URL
	}
	nodes, err := cluster.Discover(context.Background(), cluster.DiscoveryOptions{File: tc.discovery, Agents: agents})
	if err != nil {
		t.Fatal(err)
	}
	return nodes
}

// options are a run's options against the cluster, with the repository
// opened; the caller's mod changes them.
func (tc *testCluster) options(t *testing.T, mod func(*cluster.Options)) cluster.Options {
	t.Helper()
	repo, err := engine.Open(context.Background(), tc.repoDir, engine.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = repo.Close() })
	client := cluster.NewClient(cluster.ClientOptions{Token: testToken, CallTimeout: time.Minute})
	t.Cleanup(client.Close)
	o := cluster.Options{Nodes: tc.nodes(t), Client: client, Repo: repo.Repository, Repository: "main",
		Cluster: "test", Coordinator: "coordinator", ToolVersion: "test", Lease: 2 * time.Minute,
		DrainTimeout: time.Minute, PollInterval: 100 * time.Millisecond}
	if mod != nil {
		mod(&o)
	}
	return o
}

// snapshotsLeft lists the snapshot directories on every data node.
func (tc *testCluster) snapshotsLeft(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, p := range tc.data {
		for _, c := range banyandb.AllCatalogs() {
			entries, err := os.ReadDir((banyandb.Roots{Root: p.root}).SnapshotsDir(c))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			for _, e := range entries {
				out = append(out, p.name+" "+string(c)+"/"+e.Name())
			}
		}
	}
	return out
}

// assertNothingLeft checks that a failed run left no operation on any
// agent, no snapshot on any node, no set and no lock in the repository.
func (tc *testCluster) assertNothingLeft(t *testing.T, repo *repository.Repository) {
	t.Helper()
	for addr, a := range tc.agents {
		if st := a.status(t); st.Operation != nil {
			t.Errorf("the agent of %s still has operation %+v", addr, st.Operation)
		}
	}
	if left := tc.snapshotsLeft(t); len(left) != 0 {
		t.Errorf("snapshots left: %v", left)
	}
	sets, err := repo.Sets(context.Background())
	if err != nil || len(sets) != 0 {
		t.Errorf("sets after a failed run: %d, %v", len(sets), err)
	}
	locks, _ := os.ReadDir(filepath.Join(tc.repoDir, "locks"))
	if len(locks) != 0 {
		t.Errorf("locks left in the repository: %d", len(locks))
	}
}

// status reads the agent's state.
func (a *testAgent) status(t *testing.T) agent.StatusResponse {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.http.URL+agent.PathStatus, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st agent.StatusResponse
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}
