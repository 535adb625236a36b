package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// `banyan-backup agent` beside a node: every path refuses a request
// without the token or with a wrong one; with the token, prepare (naming
// one of its repositories), snapshot and abort work and leave no snapshot;
// SIGTERM stops it cleanly.
func TestAgentCommand(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, true)
	catalogs := []string{"measure", "stream", "trace", "property", "schema-property"}
	before := map[string]int{} // the fixture's own snapshots
	for _, c := range catalogs {
		entries, _ := os.ReadDir(filepath.Join(root, c, "snapshots"))
		before[c] = len(entries)
	}
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	token := strings.Repeat("t0k3n", 8)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startListening(t, "agent", "--token-file", tokenFile, "--role", "data", "--node", srv.GRPCAddr(), "--root", root,
		"--listen", "127.0.0.1:0", "--state-dir", filepath.Join(t.TempDir(), "state"), "--repository", "main="+repo,
		"--node-name", "data-0:17912")
	call := func(method, path, auth, body string) (int, string) {
		t.Helper()
		return callAgent(t, p.addr, method, path, auth, body)
	}
	op := `{"operation":"0123456789abcdef0123456789abcdef"}`
	for _, e := range []struct{ method, path, body string }{
		{"POST", "/v1/prepare", `{"operation":"0123456789abcdef0123456789abcdef","repository":"main"}`},
		{"POST", "/v1/snapshot", op}, {"POST", "/v1/upload", op}, {"POST", "/v1/commit", op},
		{"POST", "/v1/release", op}, {"POST", "/v1/abort", op}, {"GET", "/v1/status", ""}, {"GET", "/metrics", ""},
	} {
		for _, auth := range []string{"", "Bearer wrong", "Bearer " + token + token} {
			if code, body := call(e.method, e.path, auth, e.body); code != http.StatusUnauthorized || body != "" {
				t.Errorf("%s %s with %q: %d %q, want 401", e.method, e.path, auth, code, body)
			}
		}
	}
	if !strings.Contains(p.stderr.String(), `"msg":"request refused"`) {
		t.Errorf("refusals are not logged:\n%s", p.stderr.String())
	}
	bearer := "Bearer " + token
	code, body := call("POST", "/v1/prepare", bearer, `{"operation":"0123456789abcdef0123456789abcdef","repository":"main"}`)
	var prep struct{ Node, Role string }
	if err := json.Unmarshal([]byte(body), &prep); code != http.StatusOK || err != nil || prep.Node != "data-0:17912" || prep.Role != "data" {
		t.Fatalf("prepare: %d %s", code, body)
	}
	if code, body := call("POST", "/v1/snapshot", bearer, op); code != http.StatusOK || !strings.Contains(body, `"snapshots"`) {
		t.Fatalf("snapshot: %d %s", code, body)
	}
	if code, body := call("POST", "/v1/abort", bearer, op); code != http.StatusOK {
		t.Fatalf("abort: %d %s", code, body)
	}
	for _, c := range catalogs {
		if entries, _ := os.ReadDir(filepath.Join(root, c, "snapshots")); len(entries) != before[c] {
			t.Errorf("%s: %d snapshots after abort, %d before", c, len(entries), before[c])
		}
	}

	// A whole node backup: prepare, snapshot, upload, status until
	// uploaded, commit, release. The backup is the node's (its name as
	// host), a member of the set's operation, and restores to a root that
	// check finds clean; the snapshot is gone.
	opB := `{"operation":"fedcba9876543210fedcba9876543210"}`
	for _, c := range []struct{ path, body string }{
		{"/v1/prepare", `{"operation":"fedcba9876543210fedcba9876543210","repository":"main"}`},
		{"/v1/snapshot", opB},
		{"/v1/upload", `{"operation":"fedcba9876543210fedcba9876543210","tags":["nightly"]}`},
	} {
		if code, body := call("POST", c.path, bearer, c.body); code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, code, body)
		}
	}
	if !pollFor(2*time.Minute, func() bool {
		_, body := call("GET", "/v1/status?operation=fedcba9876543210fedcba9876543210", bearer, "")
		return !strings.Contains(body, `"phase":"uploading"`)
	}) {
		t.Fatal("the upload did not end in two minutes")
	}
	if code, body := call("GET", "/v1/status?operation=fedcba9876543210fedcba9876543210", bearer, ""); !strings.Contains(body, `"phase":"uploaded"`) {
		t.Fatalf("status after the upload: %d %s", code, body)
	}
	code, body = call("POST", "/v1/commit", bearer, `{"operation":"fedcba9876543210fedcba9876543210","set_operation":"00112233445566778899aabbccddeeff"}`)
	var committed struct{ Backup string }
	if err := json.Unmarshal([]byte(body), &committed); code != http.StatusOK || err != nil || committed.Backup == "" {
		t.Fatalf("commit: %d %s", code, body)
	}
	if code, body := call("POST", "/v1/release", bearer, opB); code != http.StatusOK {
		t.Fatalf("release: %d %s", code, body)
	}
	for _, c := range catalogs {
		if entries, _ := os.ReadDir(filepath.Join(root, c, "snapshots")); len(entries) != before[c] {
			t.Errorf("%s: %d snapshots after the upload, %d before", c, len(entries), before[c])
		}
	}
	var list []struct {
		ID, Hostname     string
		ClusterOperation string `json:"cluster_operation"`
		Tags             []string
		Source           struct{ Type string }
	}
	decode(t, mustRun(t, "list", "--repo", repo, "--json"), &list)
	if len(list) != 1 || list[0].ID != committed.Backup || list[0].Hostname != "data-0:17912" ||
		list[0].ClusterOperation != "00112233445566778899aabbccddeeff" || list[0].Source.Type != "node" || len(list[0].Tags) != 1 {
		t.Errorf("list after the commit: %+v", list)
	}
	target := filepath.Join(t.TempDir(), "target")
	mustRun(t, "restore", committed.Backup, "--repo", repo, "--target", target)
	mustRun(t, "check", target)
	mustRun(t, "verify", "--read-data", "--repo", repo)
	p.stop(t)

	if r := run(t, "agent", "--role", "data", "--node", srv.GRPCAddr(), "--root", root); r.code != 2 || !strings.Contains(r.stderr, "--token-file") {
		t.Errorf("agent without a token file: exit %d, %s", r.code, r.stderr)
	}
}

// callAgent sends a request to the agent at addr with the given
// Authorization header ("" for none) and returns the status and body.
func callAgent(t *testing.T, addr, method, path, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, bytes.NewBufferString(body))
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
	return resp.StatusCode, string(b)
}

// An agent killed (SIGKILL) during an upload leaves its snapshot until it
// starts again, which deletes it before serving; no backup was written and
// the repository verifies clean.
func TestAgentKilledDuringUpload(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, true)
	snapshots := func() int {
		n := 0
		for _, c := range []string{"measure", "stream", "trace", "property", "schema-property"} {
			entries, _ := os.ReadDir(filepath.Join(root, c, "snapshots"))
			n += len(entries)
		}
		return n
	}
	before := snapshots()
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	token := strings.Repeat("t0k3n", 8)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"agent", "--token-file", tokenFile, "--role", "data", "--node", srv.GRPCAddr(), "--root", root,
		"--listen", "127.0.0.1:0", "--state-dir", filepath.Join(t.TempDir(), "state"), "--repository", "main=" + repo,
		"--node-name", "data-0:17912", "--limit-read", "32KiB"}
	p := startListening(t, args...)
	bearer := "Bearer " + token
	op := `{"operation":"0123456789abcdef0123456789abcdef"}`
	for _, c := range []struct{ path, body string }{
		{"/v1/prepare", `{"operation":"0123456789abcdef0123456789abcdef","repository":"main"}`},
		{"/v1/snapshot", op}, {"/v1/upload", op},
	} {
		if code, body := callAgent(t, p.addr, "POST", c.path, bearer, c.body); code != http.StatusOK {
			t.Fatalf("%s: %d %s", c.path, code, body)
		}
	}
	var st struct {
		Operation struct {
			Phase    string
			Progress struct {
				BytesDone int64 `json:"bytes_done"`
			}
		}
	}
	if !pollFor(2*time.Minute, func() bool {
		_, body := callAgent(t, p.addr, "GET", "/v1/status?operation=0123456789abcdef0123456789abcdef", bearer, "")
		return json.Unmarshal([]byte(body), &st) == nil && st.Operation.Progress.BytesDone > 0
	}) || st.Operation.Phase != "uploading" {
		t.Fatalf("the upload is not under way: %+v", st)
	}
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = p.cmd.Process.Wait()
	if snapshots() == before {
		t.Fatal("the killed agent's snapshot is gone before the agent starts again: the test shows nothing")
	}
	startListening(t, args...)
	if n := snapshots(); n != before {
		t.Errorf("%d snapshots once the agent started again, %d before the operation", n, before)
	}
	var list []struct{ ID string }
	decode(t, mustRun(t, "list", "--repo", repo, "--json"), &list)
	if len(list) != 0 {
		t.Errorf("backups after the agent was killed: %+v", list)
	}
	mustRun(t, "verify", "--read-data", "--repo", repo)
}
