package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// idleJob is a serve config of one job that does not fire by itself.
func idleJob(t *testing.T, listen string) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	return fmt.Sprintf("listen: %s\njobs:\n  - name: j\n    source: {root: %s}\n    repositories: [{name: local, url: %s}]\n    schedule: \"@yearly\"\n",
		listen, t.TempDir(), repo)
}

// request sends a request to serve with the given Host and headers.
func (p *serveProc) request(t *testing.T, method, path, host string, header map[string]string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header
}

// A web page cannot start a backup run (a POST with a foreign Origin) and
// DNS rebinding cannot read the API (a foreign Host): both are refused, 403,
// and no run starts. The server's own address is served.
func TestServeRefusesForeignOriginAndHost(t *testing.T) {
	p := startServe(t, idleJob(t, "127.0.0.1:0"))
	if code, h := p.request(t, "POST", "/api/v1/jobs/j/run", "", map[string]string{"Origin": "http://evil.example"}); code != http.StatusForbidden || h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("POST run with a foreign Origin: %d, %v; want 403 without CORS headers", code, h)
	}
	for _, path := range []string{"/api/v1/jobs", "/api/v1/jobs/j/backups"} {
		if code, _ := p.request(t, "GET", path, "rebind.evil.example:9108", nil); code != http.StatusForbidden {
			t.Errorf("GET %s with a foreign Host: %d, want 403", path, code)
		}
	}
	if _, m := p.get(t, "/metrics"); metricValue(m, `banyan_backup_runs_total{job="j",trigger="api"}`) > 0 {
		t.Errorf("a refused request started a run")
	}
	if code, _ := p.request(t, "GET", "/api/v1/jobs", "localhost", map[string]string{"Origin": "http://localhost"}); code != http.StatusOK {
		t.Errorf("GET /api/v1/jobs as localhost: %d, want 200", code)
	}
	p.stop(t)
}

// serve refuses to start on an address other machines reach without a
// token or client CA (exit 2), unless --insecure-no-auth; with a token
// file, the API needs the token and /metrics does not.
func TestServeNeedsAuthOffLoopback(t *testing.T) {
	config := idleJob(t, "0.0.0.0:0")
	path := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "serve", "--config", path).CombinedOutput()
	if code := exitCodeOf(err); code != 2 || !strings.Contains(string(out), "--token-file") || !strings.Contains(string(out), "--insecure-no-auth") {
		t.Fatalf("serve on 0.0.0.0 without auth: exit %d (%v), output %q; want 2 naming --token-file and --insecure-no-auth", code, err, out)
	}

	open := startServe(t, config, "--insecure-no-auth")
	if code, _ := open.request(t, "GET", "/api/v1/jobs", "", nil); code != http.StatusOK {
		t.Errorf("--insecure-no-auth: GET /api/v1/jobs %d, want 200", code)
	}
	open.stop(t)

	const token = "4f1c0e9a7b3d5e2f8a6c4b1d"
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startServe(t, config, "--token-file", tokenFile)
	if code, _ := p.request(t, "POST", "/api/v1/jobs/j/run", "", nil); code != http.StatusUnauthorized {
		t.Errorf("POST run without the token: %d, want 401", code)
	}
	if code, _ := p.request(t, "GET", "/api/v1/jobs", "", map[string]string{"Authorization": "Bearer " + token}); code != http.StatusOK {
		t.Errorf("GET /api/v1/jobs with the token: %d, want 200", code)
	}
	if code, _ := p.get(t, "/metrics"); code != http.StatusOK {
		t.Errorf("/metrics without the token: %d, want 200", code)
	}
	p.stop(t)
}

// exitCodeOf returns the exit code of a finished command's error (-1: it
// did not exit by itself).
func exitCodeOf(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok && ee.Exited() {
		return ee.ExitCode()
	}
	return -1
}
