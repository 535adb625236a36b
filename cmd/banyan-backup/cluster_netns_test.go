package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/testnet"
)

// The ports every node and agent of a netCluster uses on its own host.
const (
	netGRPCPort  = "17912"
	netHTTPPort  = "17913"
	netAgentPort = "17950"
)

// hostProc is a process started on a test host (or in the test's own
// namespace): its stdout lines go to lines, its stderr is kept.
type hostProc struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{}
}

// startHostProc starts cmd, whose output it takes, with the test's
// environment and cmd.Env, and kills it when the test ends. ready, if set, is told each stdout and stderr line until it
// answers true; startHostProc returns once it has (or fails the test
// after a generous wait).
func startHostProc(t *testing.T, cmd *exec.Cmd, ready func(line string) bool) *hostProc {
	t.Helper()
	cmd.Env = append(append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC",
		"XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache")), cmd.Env...)
	p := &hostProc{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	outR, outW := io.Pipe()
	cmd.Stdout = outW
	cmd.Stderr = io.MultiWriter(p.stderr, outW)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		outW.Close()
		close(p.exited)
	}()
	t.Cleanup(func() { p.kill() })
	found := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			if ready != nil && ready(sc.Text()) {
				ready = nil
				close(found)
			}
		}
		_, _ = io.Copy(io.Discard, outR)
	}()
	if ready == nil {
		return p
	}
	select {
	case <-found:
	case <-p.exited:
		t.Fatalf("%s exited before it was ready:\n%s", cmd.Args, p.stderr.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("%s not ready in time:\n%s", cmd.Args, p.stderr.String())
	}
	return p
}

// kill sends SIGKILL and waits until the process has gone.
func (p *hostProc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// listening tells the "listening" log line of serve and agent.
func listening(line string) bool {
	var l struct{ Msg string }
	return json.Unmarshal([]byte(line), &l) == nil && l.Msg == "listening"
}

// netNode is a banyand-sim node on a host of its own with its agent
// beside it, in the same namespace: the agent reaches the node on that
// host's loopback, and everything else reaches both through the host's
// link, which a test can cut.
type netNode struct {
	host      *testnet.Host
	role      string
	name      string // HOST-IP:17912, as BanyanDB names it
	root      string
	sim       *hostProc
	agent     *hostProc
	agentArgs []string
}

// agentURL is the address of the node's agent.
func (n *netNode) agentURL() string { return "http://" + n.host.IP + ":" + netAgentPort }

// simURL is the address of the node's HTTP API.
func (n *netNode) simURL() string { return "http://" + n.host.IP + ":" + netHTTPPort }

// netCluster is three data nodes and a liaison writing to them, each
// node with its agent on a host of its own, all agents knowing the
// repository as "main"; the coordinator runs in the test's namespace.
type netCluster struct {
	net       *testnet.Net
	data      []*netNode
	liaison   *netNode
	discovery string
	repo      string
	repoFlags []string // the global flags that reach repo
	tokenFile string
	token     string
}

// netClusterOptions change a netCluster.
type netClusterOptions struct {
	// repo is the repository's URL and the flags that reach it; "" means
	// a new local repository.
	repo      string
	repoFlags []string
	// agentArgs are added to every agent's arguments.
	agentArgs []string
	// liaisonArgs are added to the liaison's arguments.
	liaisonArgs []string
	// net is the network to use; nil means a new one.
	net *testnet.Net
}

// startNetCluster starts the cluster and waits until every data node
// has received parts from the liaison.
func startNetCluster(t *testing.T, o netClusterOptions) *netCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("runs eight processes on four network namespaces")
	}
	archive, err := fixture.Path(fixture.V011)
	if err != nil {
		t.Fatal(err)
	}
	tc := &netCluster{net: o.net, discovery: filepath.Join(t.TempDir(), "nodes.yaml"), repo: o.repo, repoFlags: o.repoFlags,
		tokenFile: filepath.Join(t.TempDir(), "token"), token: strings.Repeat("n3tt0k3n", 5)}
	if tc.net == nil {
		tc.net = testnet.New(t)
	}
	if tc.repo == "" {
		tc.repo = filepath.Join(t.TempDir(), "repo")
	}
	mustRun(t, append([]string{"init", "--repo", tc.repo}, tc.repoFlags...)...)
	if err := os.WriteFile(tc.tokenFile, []byte(tc.token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var f sim.DiscoveryFile
	for i := range 3 {
		n := tc.startSim(t, archive, "data")
		tc.data = append(tc.data, n)
		f.Nodes = append(f.Nodes, sim.DiscoveryNode{Name: fmt.Sprintf("data-%d", i), GRPCAddress: n.name})
	}
	if err := sim.WriteDiscoveryFile(tc.discovery, &f); err != nil {
		t.Fatal(err)
	}
	tc.liaison = tc.startSim(t, archive, "liaison", append([]string{"--node-discovery-file", tc.discovery,
		"--node-discovery-interval", "200ms", "--sync-interval", "100ms", "--start-time", "2026-11-23T00:00:00Z"}, o.liaisonArgs...)...)
	f.Nodes = append(f.Nodes, sim.DiscoveryNode{Name: "liaison-0", GRPCAddress: tc.liaison.name})
	if err := sim.WriteDiscoveryFile(tc.discovery, &f); err != nil {
		t.Fatal(err)
	}
	for _, n := range tc.nodes() {
		n.agentArgs = append([]string{"agent", "--token-file", tc.tokenFile, "--role", n.role, "--node", "127.0.0.1:" + netGRPCPort,
			"--root", n.root, "--listen", n.host.IP + ":" + netAgentPort, "--state-dir", filepath.Join(t.TempDir(), "state"),
			"--repository", "main=" + tc.repo, "--node-name", n.name}, tc.repoFlags...)
		n.agentArgs = append(n.agentArgs, o.agentArgs...)
		n.agent = tc.startAgent(t, n)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, n := range tc.data {
		for n.stats(t).PartsReceived == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("data node %s received no part", n.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return tc
}

// startSim starts banyand-sim of a role on a new host.
func (tc *netCluster) startSim(t *testing.T, archive, role string, args ...string) *netNode {
	t.Helper()
	bin, err := simBin()
	if err != nil {
		t.Fatal(err)
	}
	h := tc.net.AddHost()
	n := &netNode{host: h, role: role, name: h.IP + ":" + netGRPCPort, root: filepath.Join(t.TempDir(), role)}
	all := append([]string{"--root", n.root, "--role", role, "--grpc-addr", "0.0.0.0:" + netGRPCPort,
		"--http-addr", "0.0.0.0:" + netHTTPPort, "--node-host", h.IP, "--from-fixture", archive, "--replicas", "1",
		"--flush-interval", "100ms", "--part-size", "2KiB"}, args...)
	n.sim = startHostProc(t, h.Command(context.Background(), bin, all...), func(l string) bool { return l == "ready" })
	return n
}

// startAgent starts the node's agent on its host.
func (tc *netCluster) startAgent(t *testing.T, n *netNode) *hostProc {
	t.Helper()
	return startHostProc(t, n.host.Command(context.Background(), binary, n.agentArgs...), listening)
}

// nodes are the data nodes, then the liaison.
func (tc *netCluster) nodes() []*netNode { return append(append([]*netNode{}, tc.data...), tc.liaison) }

// backupArgs are `cluster backup`'s arguments: the agents found from the
// discovery file at their hosts' agent port, over HTTP.
func (tc *netCluster) backupArgs(extra ...string) []string {
	args := append([]string{"cluster", "backup", "--repo", tc.repo, "--repo-name", "main", "--node-discovery-file", tc.discovery,
		"--agent-port", netAgentPort, "--agent-scheme", "http", "--token-file", tc.tokenFile, "--cluster", "netns"}, tc.repoFlags...)
	return append(args, extra...)
}

// backup runs `cluster backup` with extra arguments in the test's
// namespace and returns its result; a run that has not ended after
// limit is killed and fails the test.
func (tc *netCluster) backup(t *testing.T, limit time.Duration, extra ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, tc.backupArgs(extra...)...)
	cmd.Env = append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache"))
	var so, se syncBuffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("cluster backup did not end within %v:\n%s", limit, se.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{so.String(), se.String(), code}
}

// stats reads the node's counters.
func (n *netNode) stats(t *testing.T) sim.Stats {
	t.Helper()
	var st sim.Stats
	getJSON(t, http.DefaultClient, n.simURL()+"/sim/stats", "", &st)
	return st
}

// fault sets the node's faults.
func (n *netNode) fault(t *testing.T, body string) {
	t.Helper()
	resp, err := http.Post(n.simURL()+"/sim/faults", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("faults of %s: %d %s", n.name, resp.StatusCode, b)
	}
}

// agentState is what an agent's status says of its operation.
type agentState struct {
	Operation *struct {
		ID       string
		Phase    string
		Progress *struct {
			BytesDone int64 `json:"bytes_done"`
		}
	}
}

// status reads the agent's state; ok is false when it does not answer
// within a few seconds (its link cut, the agent killed).
func (tc *netCluster) status(n *netNode) (agentState, bool) {
	var st agentState
	c := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, n.agentURL()+"/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+tc.token)
	resp, err := c.Do(req)
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	return st, resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil
}

// getJSON decodes what url answers into out.
func getJSON(t *testing.T, c *http.Client, url, bearer string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

// snapshots lists the snapshot directories on n.
func (n *netNode) snapshots() []string {
	dirs, _ := filepath.Glob(filepath.Join(n.root, "*", "snapshots", "*"))
	return dirs
}

// snapshotsLeft lists the snapshot directories on every data node.
func (tc *netCluster) snapshotsLeft() []string {
	var out []string
	for _, n := range tc.data {
		out = append(out, n.snapshots()...)
	}
	return out
}

// waitUntil waits, up to a generous deadline, until cond holds.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// assertClean checks what every failed run must leave, once the leases
// have ended: no operation on any agent that answers, no snapshot on any
// node, no set, and a repository that verifies.
func (tc *netCluster) assertClean(t *testing.T) {
	t.Helper()
	waitUntil(t, time.Minute, "every agent ends its operation and deletes its snapshot", func() bool {
		for _, n := range tc.nodes() {
			if st, ok := tc.status(n); ok && st.Operation != nil {
				return false
			}
		}
		return len(tc.snapshotsLeft()) == 0
	})
	out := mustRun(t, append([]string{"list", "--repo", tc.repo, "--json"}, tc.repoFlags...)...)
	if strings.Contains(out, `"operation"`) {
		t.Errorf("a set after a failed run:\n%s", out)
	}
	mustRun(t, append([]string{"verify", "--repo", tc.repo}, tc.repoFlags...)...)
}

// startCoordinator starts `cluster backup` with extra arguments as a
// process in the test's namespace, without waiting for it.
func (tc *netCluster) startCoordinator(t *testing.T, extra ...string) *hostProc {
	t.Helper()
	return startHostProc(t, exec.Command(binary, tc.backupArgs(extra...)...), nil)
}

// wait waits, up to limit, for the process to exit and returns its exit
// code and stderr.
func (p *hostProc) wait(t *testing.T, limit time.Duration) (int, string) {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(limit):
		t.Fatalf("%v did not end within %v:\n%s", p.cmd.Args, limit, p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode(), p.stderr.String()
}

// uploading tells whether n's agent is uploading and has read something.
func (tc *netCluster) uploading(n *netNode) bool {
	st, ok := tc.status(n)
	return ok && st.Operation != nil && st.Operation.Phase == "uploading" && st.Operation.Progress != nil &&
		st.Operation.Progress.BytesDone > 0
}

// netS3 is versitygw, the S3 test server, on a host of its own.
type netS3 struct {
	host   *testnet.Host
	srv    cloudtest.S3Server
	bucket string
	repo   string   // a repository URL in the bucket
	flags  []string // the flags that reach it
}

// startNetS3 runs versitygw (its data in a directory of the test) on a
// host of its own on n, makes a bucket on it and sets its credentials in
// the environment, which the agents started later inherit. A request
// whose connection moves nothing for 3 s fails, and is tried twice in
// all, so that a cut link fails each step in seconds.
func startNetS3(t *testing.T, n *testnet.Net) *netS3 {
	t.Helper()
	bin := cloudtest.VersityGW(t)
	h := n.AddHost()
	srv := cloudtest.S3Server{Endpoint: "http://" + h.IP + ":7070", AccessKey: "banyan-netns-access", SecretKey: "netns-secret-4711"}
	cmd := h.Command(context.Background(), bin, "--port", h.IP+":7070", "posix", t.TempDir())
	cmd.Env = []string{"ROOT_ACCESS_KEY_ID=" + srv.AccessKey, "ROOT_SECRET_ACCESS_KEY=" + srv.SecretKey}
	startHostProc(t, cmd, nil)
	setAWS(t, srv.AccessKey, srv.SecretKey)
	waitUntil(t, time.Minute, "versitygw listens", func() bool {
		c, err := net.DialTimeout("tcp", h.IP+":7070", time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	s := &netS3{host: h, srv: srv, bucket: srv.NewBucket(t)}
	s.repo, s.flags = "s3://"+s.bucket+"/repo", []string{"--s3-endpoint", srv.Endpoint, "--storage-idle-timeout", "3s", "--storage-tries", "2"}
	return s
}

// objects counts the repository's objects under prefix.
func (s *netS3) objects(t *testing.T, prefix string) int {
	t.Helper()
	n := 0
	p := awss3.NewListObjectsV2Paginator(s.srv.Client(), &awss3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String("repo/" + prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Contents)
	}
	return n
}
