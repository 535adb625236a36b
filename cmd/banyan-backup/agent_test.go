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
		req, err := http.NewRequest(method, "http://"+p.addr+path, bytes.NewBufferString(body))
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
	p.stop(t)

	if r := run(t, "agent", "--role", "data", "--node", srv.GRPCAddr(), "--root", root); r.code != 2 || !strings.Contains(r.stderr, "--token-file") {
		t.Errorf("agent without a token file: exit %d, %s", r.code, r.stderr)
	}
}
