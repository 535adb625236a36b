package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

const (
	testToken = "0123456789abcdefghijklmnopqrstuvwxyzABCD"
	opA       = "0123456789abcdef0123456789abcdef"
	opB       = "fedcba9876543210fedcba9876543210"
)

// testAgent is an agent served on a test HTTP server.
type testAgent struct {
	srv       *agent.Server
	url       string
	tokenFile string
	root      string
	node      *sim.Server
	// repo is the directory of its repository "main".
	repo string
	name string
}

// startSim starts a standalone simulator on a copy of the 0.11 fixture:
// the data node an agent serves.
func startSim(t *testing.T, mod func(*sim.Config)) *sim.Server {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := sim.SeedFromFixture(context.Background(), fixture.ForTest(t, fixture.V011), root); err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig(root)
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	if mod != nil {
		mod(&cfg)
	}
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

// startAgent serves an agent beside node (a data node unless role says
// otherwise), with one repository named "main", a new local one.
func startAgent(t *testing.T, node *sim.Server, role string, mod func(*agent.Options)) *testAgent {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repoDir := newRepo(t)
	opts := agent.Options{TokenFile: tokenFile, Role: role, NodeName: node.Name(),
		Node: snapshot.Options{Node: node.GRPCAddr()}, Roots: banyandb.Roots{Root: node.Root()},
		StateDir: filepath.Join(t.TempDir(), "state"), Version: "test",
		Upload: backup.Options{Location: time.UTC},
		OpenRepository: func(ctx context.Context, name string) (*engine.Repo, error) {
			if name != "main" {
				return nil, errors.New("no such repository")
			}
			return engine.Open(ctx, repoDir, engine.StoreOptions{})
		}}
	if opts.NodeName == "" {
		opts.NodeName = "node-0:17912"
	}
	if mod != nil {
		mod(&opts)
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
	return &testAgent{srv: a, url: hs.URL, tokenFile: tokenFile, root: node.Root(), node: node, repo: repoDir, name: opts.NodeName}
}

// call sends a request with the given Authorization header ("" for none)
// and returns the status and body.
func (a *testAgent) call(t *testing.T, method, path, auth string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("%s %s: 401 without WWW-Authenticate", method, path)
	}
	return resp.StatusCode, string(b)
}

// do calls with the right token and decodes a 200 answer into out.
func (a *testAgent) do(t *testing.T, method, path string, body, out any) {
	t.Helper()
	code, b := a.call(t, method, path, "Bearer "+testToken, body)
	if code != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, path, code, b)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(b), out); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshotDirs lists the snapshot directories under the node's root.
func snapshotDirs(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, c := range banyandb.AllCatalogs() {
		entries, err := os.ReadDir((banyandb.Roots{Root: root}).SnapshotsDir(c))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			out = append(out, string(c)+"/"+e.Name())
		}
	}
	return out
}

// Every endpoint, and any other path, refuses a request without the token,
// with a wrong one, with another scheme, or with the token plus more:
// 401, WWW-Authenticate, no body, and nothing done (no operation, no
// snapshot call). The right token gets through.
func TestEveryEndpointRefusesBadTokens(t *testing.T) {
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	prepare := agent.PrepareRequest{Operation: opA, Repository: "main"}
	op := agent.OperationRequest{Operation: opA}
	endpoints := []struct {
		method, path string
		body         any
	}{
		{http.MethodPost, agent.PathPrepare, prepare},
		{http.MethodPost, agent.PathSnapshot, op},
		{http.MethodPost, agent.PathUpload, agent.UploadRequest{Operation: opA}},
		{http.MethodPost, agent.PathCommit, agent.CommitRequest{Operation: opA, SetOperation: opA}},
		{http.MethodPost, agent.PathRelease, op},
		{http.MethodPost, agent.PathAbort, op},
		{http.MethodGet, agent.PathStatus, nil},
		{http.MethodGet, agent.PathStatus + "?operation=" + opA, nil},
		{http.MethodGet, agent.PathQueue + "?operation=" + opA, nil},
		{http.MethodGet, "/v1/no-such-thing", nil},
		{http.MethodGet, "/", nil},
		{http.MethodDelete, agent.PathPrepare, nil},
	}
	bad := map[string]string{
		"missing":           "",
		"wrong":             "Bearer " + strings.Repeat("x", len(testToken)),
		"empty":             "Bearer ",
		"other scheme":      "Basic " + testToken,
		"token and more":    "Bearer " + testToken + "x",
		"prefix of token":   "Bearer " + testToken[:len(testToken)-1],
		"token as a scheme": testToken,
	}
	for _, e := range endpoints {
		for name, auth := range bad {
			code, body := a.call(t, e.method, e.path, auth, e.body)
			if code != http.StatusUnauthorized || body != "" {
				t.Errorf("%s %s with a %s token: %d %q, want 401 and no body", e.method, e.path, name, code, body)
			}
		}
	}
	if st := node.Stats(); st.SnapshotCalls != 0 {
		t.Errorf("refused requests reached the node: %d snapshot calls", st.SnapshotCalls)
	}
	var status agent.StatusResponse
	a.do(t, http.MethodGet, agent.PathStatus, nil, &status)
	if status.Operation != nil {
		t.Errorf("a refused prepare started operation %+v", status.Operation)
	}
	// With the token: an unknown path is 404, and so are upload and commit
	// of an operation the agent does not have.
	if code, _ := a.call(t, http.MethodGet, "/v1/no-such-thing", "Bearer "+testToken, nil); code != http.StatusNotFound {
		t.Errorf("unknown path with the token: %d, want 404", code)
	}
	if code, body := a.call(t, http.MethodPost, agent.PathUpload, "bearer "+testToken, op); code != http.StatusNotFound || !strings.Contains(body, "no operation") {
		t.Errorf("upload with the token (scheme in lower case), no operation: %d %s, want 404", code, body)
	}
	commit := agent.CommitRequest{Operation: opA, SetOperation: opA}
	if code, body := a.call(t, http.MethodPost, agent.PathCommit, "Bearer "+testToken, commit); code != http.StatusNotFound || !strings.Contains(body, "no operation") {
		t.Errorf("commit with the token, no operation: %d %s, want 404", code, body)
	}
}

// A token file that changes is read again: the old token is refused, the
// new one accepted; a token too short is refused at start.
func TestTokenRotation(t *testing.T) {
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	newToken := strings.Repeat("n", 40)
	if err := os.WriteFile(a.tokenFile, []byte(newToken), 0o600); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(a.tokenFile, future, future); err != nil {
		t.Fatal(err)
	}
	if code, _ := a.call(t, http.MethodGet, agent.PathStatus, "Bearer "+testToken, nil); code != http.StatusUnauthorized {
		t.Errorf("old token after rotation: %d, want 401", code)
	}
	if code, _ := a.call(t, http.MethodGet, agent.PathStatus, "Bearer "+newToken, nil); code != http.StatusOK {
		t.Errorf("new token after rotation: %d, want 200", code)
	}
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("too-short"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := agent.New(context.Background(), agent.Options{TokenFile: short, Role: agent.RoleData, NodeName: "n:1",
		Node: snapshot.Options{Node: node.GRPCAddr()}, StateDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "fewer than 32") {
		t.Errorf("a 9-character token: %v", err)
	}
}

// prepare, snapshot and release on a data node: the snapshot directories
// exist after the snapshot and are gone after release; a second operation
// is refused while one lives; abort is idempotent.
func TestPrepareSnapshotRelease(t *testing.T) {
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	var prep agent.PrepareResponse
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main", LeaseSeconds: 120}, &prep)
	if prep.Node != node.Name() || prep.Role != agent.RoleData || prep.APIVersion == "" || time.Until(prep.LeaseUntil) < time.Minute {
		t.Errorf("prepare answered %+v", prep)
	}
	if code, body := a.call(t, http.MethodPost, agent.PathPrepare, "Bearer "+testToken, agent.PrepareRequest{Operation: opB, Repository: "main"}); code != http.StatusConflict {
		t.Errorf("a second operation: %d %s, want 409", code, body)
	}
	if code, _ := a.call(t, http.MethodPost, agent.PathPrepare, "Bearer "+testToken, agent.PrepareRequest{Operation: opB, Repository: "other"}); code != http.StatusConflict {
		t.Errorf("a second operation naming another repository: %d, want 409", code)
	}
	var snap agent.SnapshotResponse
	a.do(t, http.MethodPost, agent.PathSnapshot, agent.OperationRequest{Operation: opA}, &snap)
	if len(snap.Snapshots) == 0 || snap.End.Before(snap.Start) || len(snapshotDirs(t, a.root)) == 0 {
		t.Fatalf("snapshot answered %+v; directories %v", snap, snapshotDirs(t, a.root))
	}
	if code, _ := a.call(t, http.MethodPost, agent.PathSnapshot, "Bearer "+testToken, agent.OperationRequest{Operation: opA}); code != http.StatusConflict {
		t.Errorf("a second snapshot: %d, want 409", code)
	}
	var status agent.StatusResponse
	a.do(t, http.MethodGet, agent.PathStatus+"?operation="+opA, nil, &status)
	if status.Operation == nil || status.Operation.Phase != agent.PhaseSnapshotted {
		t.Errorf("status %+v", status)
	}
	a.do(t, http.MethodPost, agent.PathRelease, agent.OperationRequest{Operation: opA}, nil)
	if dirs := snapshotDirs(t, a.root); len(dirs) != 0 {
		t.Errorf("snapshot directories after release: %v", dirs)
	}
	a.do(t, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: opA}, nil)
	a.do(t, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: opA}, nil)
	var after agent.StatusResponse
	a.do(t, http.MethodGet, agent.PathStatus, nil, &after)
	if after.Operation != nil {
		t.Errorf("operation after abort: %+v", after.Operation)
	}
	if code, _ := a.call(t, http.MethodPost, agent.PathPrepare, "Bearer "+testToken, agent.PrepareRequest{Operation: opB, Repository: "elsewhere"}); code != http.StatusBadGateway {
		t.Errorf("prepare naming a repository the agent does not have: %d, want 502", code)
	}
	// An agent whose volume is not there fails at prepare.
	b := startAgent(t, node, agent.RoleData, func(o *agent.Options) { o.Roots = banyandb.Roots{Root: filepath.Join(t.TempDir(), "none")} })
	if code, body := b.call(t, http.MethodPost, agent.PathPrepare, "Bearer "+testToken, agent.PrepareRequest{Operation: opB, Repository: "main"}); code != http.StatusBadGateway || !strings.Contains(body, "volume mounted") {
		t.Errorf("prepare without the node's data: %d %s", code, body)
	}
}

// An abort that reaches the agent before the operation's prepare (the
// coordinator cancelled that prepare when another agent failed, then told
// everyone to abort) is not lost: the late prepare is refused and no
// operation starts, while other operations still can.
func TestAbortBeforePrepareRefusesIt(t *testing.T) {
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	a.do(t, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: opA}, nil)
	code, body := a.call(t, http.MethodPost, agent.PathPrepare, "Bearer "+testToken, agent.PrepareRequest{Operation: opA, Repository: "main"})
	if code != http.StatusConflict || !strings.Contains(body, "was aborted") {
		t.Errorf("prepare of an aborted operation: %d %s, want 409", code, body)
	}
	var st agent.StatusResponse
	a.do(t, http.MethodGet, agent.PathStatus, nil, &st)
	if st.Operation != nil {
		t.Errorf("operation after a refused prepare: %+v", st.Operation)
	}
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opB, Repository: "main"}, nil)
	a.do(t, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: opB}, nil)
	if code, _ := a.call(t, http.MethodPost, agent.PathPrepare, "Bearer "+testToken, agent.PrepareRequest{Operation: opB, Repository: "main"}); code != http.StatusConflict {
		t.Errorf("prepare again of an operation prepared and aborted: %d, want 409", code)
	}
}

// An operation whose lease runs out is ended by the agent itself: its
// snapshot directories are deleted, with no call from the coordinator.
func TestLeaseExpiryReleasesSnapshot(t *testing.T) {
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main", LeaseSeconds: 1}, nil)
	a.do(t, http.MethodPost, agent.PathSnapshot, agent.OperationRequest{Operation: opA}, nil)
	if len(snapshotDirs(t, a.root)) == 0 {
		t.Fatal("no snapshot taken")
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var status agent.StatusResponse
		a.do(t, http.MethodGet, agent.PathStatus, nil, &status)
		if status.Operation == nil && len(snapshotDirs(t, a.root)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a minute after a 1 s lease: operation %+v, snapshots %v", status.Operation, snapshotDirs(t, a.root))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code, _ := a.call(t, http.MethodPost, agent.PathRelease, "Bearer "+testToken, agent.OperationRequest{Operation: opA}); code != http.StatusOK {
		t.Errorf("release after the lease ended: %d, want 200 (nothing to release)", code)
	}
}

// A data node's agent pointed at a liaison, whose Snapshot answers an
// empty success, fails the snapshot instead of backing up nothing.
func TestDataAgentRefusesEmptyAnswer(t *testing.T) {
	liaison := startLiaison(t)
	a := startAgent(t, liaison, agent.RoleData, nil)
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main"}, nil)
	code, body := a.call(t, http.MethodPost, agent.PathSnapshot, "Bearer "+testToken, agent.OperationRequest{Operation: opA})
	if code != http.StatusBadGateway || !strings.Contains(body, "no snapshot, as a liaison does") {
		t.Errorf("snapshot of a liaison as a data node: %d %s", code, body)
	}
}

// startLiaison starts a simulated liaison (no data node up) whose queue
// holds parts: the sender is held.
func startLiaison(t *testing.T) *sim.Server {
	t.Helper()
	schema, err := sim.SchemaFromRoot(filepath.Join(fixture.ForTest(t, fixture.V011), "data"), time.UTC, 0)
	if err != nil {
		t.Fatal(err)
	}
	discovery := filepath.Join(t.TempDir(), "nodes.yaml")
	if err := sim.WriteDiscoveryFile(discovery, &sim.DiscoveryFile{}); err != nil {
		t.Fatal(err)
	}
	s := startSimWith(t, filepath.Join(t.TempDir(), "liaison"), func(c *sim.Config) {
		c.Cluster = sim.Cluster{Role: sim.RoleLiaison, Schema: schema, NodeHost: "127.0.0.1", DiscoveryFile: discovery}
		c.Faults.HoldQueue = true
		c.Workload.StartTime = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	})
	for range 3 {
		if err := s.Step(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// startSimWith starts a simulator on an empty root.
func startSimWith(t *testing.T, root string, mod func(*sim.Config)) *sim.Server {
	t.Helper()
	cfg := sim.DefaultConfig(root)
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	mod(&cfg)
	s, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s
}

// A liaison's agent takes no snapshot: it reads the queue on the
// liaison's disk, parts and failed parts, with the oldest flush time.
func TestLiaisonAgentReadsQueue(t *testing.T) {
	liaison := startLiaison(t)
	a := startAgent(t, liaison, agent.RoleLiaison, nil)
	var prep agent.PrepareResponse
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main"}, &prep)
	if prep.Role != agent.RoleLiaison || prep.Node != liaison.Name() {
		t.Errorf("prepare answered %+v", prep)
	}
	var snap agent.SnapshotResponse
	a.do(t, http.MethodPost, agent.PathSnapshot, agent.OperationRequest{Operation: opA}, &snap)
	want := liaison.QueueState()
	if q := snap.Queue; q == nil || q.Parts != want.Parts || q.Parts == 0 || q.Bytes != want.Bytes || q.Drained || q.OldestFlush == nil {
		t.Errorf("queue %+v, the liaison holds %+v", snap.Queue, want)
	}
	if st := liaison.Stats(); st.SnapshotCalls != 0 {
		t.Errorf("the liaison's agent called Snapshot %d times", st.SnapshotCalls)
	}
}

// An agent killed with a snapshot taken deletes it when it starts again,
// from its state file.
func TestRecoverRemovesKilledAgentsSnapshot(t *testing.T) {
	node := startSim(t, nil)
	stateDir := filepath.Join(t.TempDir(), "state")
	a := startAgent(t, node, agent.RoleData, func(o *agent.Options) { o.StateDir = stateDir; o.Lease = 20 * time.Minute })
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main"}, nil)
	a.do(t, http.MethodPost, agent.PathSnapshot, agent.OperationRequest{Operation: opA}, nil)
	if len(snapshotDirs(t, a.root)) == 0 {
		t.Fatal("no snapshot taken")
	}
	// A new agent on the same state directory, as after a kill (the first
	// one is not closed).
	startAgent(t, node, agent.RoleData, func(o *agent.Options) { o.StateDir = stateDir })
	if dirs := snapshotDirs(t, a.root); len(dirs) != 0 {
		t.Errorf("the restarted agent left the killed one's snapshot: %v", dirs)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "operation.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file after recovery: %v", err)
	}
}
