package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// serveProc is a running `banyan-backup serve`.
type serveProc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
}

// startServe runs `serve --config` on a config written to a file, with
// more flags if given, and waits for its "listening" log line.
func startServe(t *testing.T, config string, flags ...string) *serveProc {
	t.Helper()
	path := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return startListening(t, append([]string{"serve", "--config", path}, flags...)...)
}

// startListening runs the CLI with args and waits for the "listening" log
// line of a command that serves (serve, agent).
func startListening(t *testing.T, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache"))
	pr, pw := io.Pipe()
	p := &serveProc{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = io.MultiWriter(p.stderr, pw)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_, _ = cmd.Process.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				found <- line.Addr
				break
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	select {
	case p.addr = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not start listening:\n%s", args[0], p.stderr.String())
	}
	return p
}

func (p *serveProc) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get("http://" + p.addr + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (p *serveProc) post(t *testing.T, path string) int {
	t.Helper()
	resp, err := http.Post("http://"+p.addr+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// stop sends SIGTERM and waits (bounded) for a clean exit.
func (p *serveProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("serve did not exit after SIGTERM:\n%s", p.stderr.String())
	}
}

// metricValue returns the value of one series in a scrape (-1: absent).
func metricValue(metrics, series string) float64 {
	for _, l := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return f
			}
		}
	}
	return -1
}

// TestServeCommand runs serve against the node simulator under writes,
// into two repositories, on a real schedule and through the API, and
// scrapes every metric the issue lists.
func TestServeCommand(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	node := startSim(t, root, false)
	repoA, repoB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	mustRun(t, "init", "--repo", repoA)
	mustRun(t, "init", "--repo", repoB)

	p := startServe(t, fmt.Sprintf(`listen: 127.0.0.1:0
jobs:
  - name: node1
    source:
      node: %s
      root: %s
      server_time_zone: UTC
    repositories:
      - {name: local, url: %s}
      - {name: offsite, url: "file://%s"}
    schedule: "@every 2s"
    retention: {keep_last: 2, prune: true}
    limits: {upload: 200MiB, read: 200MiB, concurrency: 2}
`, node.GRPCAddr(), root, repoA, repoB))

	if code, body := p.get(t, "/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code := p.post(t, "/api/v1/jobs/node1/run"); code != http.StatusAccepted && code != http.StatusConflict {
		t.Fatalf("POST run: %d", code)
	}
	// Bounded wait for three scheduled or asked-for runs into both repositories.
	var m string
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		_, m = p.get(t, "/metrics")
		if metricValue(m, `banyan_backup_backups_kept{backup_job="node1",repository="offsite"}`) >= 2 &&
			metricValue(m, `banyan_backup_backups_forgotten_total{backup_job="node1",repository="offsite"}`) >= 1 &&
			metricValue(m, `banyan_backup_runs_total{backup_job="node1",trigger="schedule"}`) >= 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, repo := range []string{"local", "offsite"} {
		l := fmt.Sprintf(`{backup_job="node1",repository="%s"}`, repo)
		// The run's backup goes into local and is copied into offsite:
		// the node is read once, for local.
		read := 1.0
		if repo == "offsite" {
			read = 0
			if v := metricValue(m, "banyan_backup_read_bytes_total"+l); v != 0 {
				t.Errorf("offsite gets a copy, but banyan_backup_read_bytes_total%s = %v", l, v)
			}
		}
		for _, c := range []struct {
			series string
			min    float64
		}{
			{"banyan_backup_last_success_timestamp_seconds" + l, float64(time.Now().Add(-time.Hour).Unix())},
			{"banyan_backup_last_duration_seconds" + l, 0.000001},
			{"banyan_backup_backup_duration_seconds_count" + l, 2},
			{"banyan_backup_read_bytes_total" + l, read},
			{"banyan_backup_added_bytes_total" + l, 1},
			{"banyan_backup_uploaded_bytes_total" + l, 1},
			{"banyan_backup_dedup_ratio" + l, 0.5},
			{"banyan_backup_repository_size_bytes" + l, 1},
			{"banyan_backup_backups_kept" + l, 2},
			{"banyan_backup_backups_forgotten_total" + l, 1},
			{fmt.Sprintf(`banyan_backup_failures_total{backup_job="node1",kind="node",repository="%s"}`, repo), 0},
		} {
			if v := metricValue(m, c.series); v < c.min {
				t.Errorf("%s = %v, want ≥ %v", c.series, v, c.min)
			}
		}
	}
	for _, series := range []string{`banyan_backup_runs_skipped_total{backup_job="node1",reason="overlap"}`, `banyan_backup_running{backup_job="node1"}`, "go_goroutines", "process_resident_memory_bytes"} {
		if metricValue(m, series) < 0 {
			t.Errorf("metrics lack %s", series)
		}
	}
	if t.Failed() {
		t.Fatalf("metrics:\n%s\nlogs:\n%s", m, p.stderr.String())
	}

	code, body := p.get(t, "/api/v1/jobs/node1/backups")
	var listed struct {
		Repositories []struct {
			Repository string
			Backups    []struct{ ID string }
		}
	}
	if err := json.Unmarshal([]byte(body), &listed); code != 200 || err != nil || len(listed.Repositories) != 2 {
		t.Fatalf("backups: %d %v %s", code, err, body)
	}
	for _, r := range listed.Repositories {
		if n := len(r.Backups); n < 2 || n > 3 { // keep_last 2, plus one that may have landed since
			t.Errorf("%s lists %d backups", r.Repository, n)
		}
	}
	if code, body := p.get(t, "/api/v1/jobs"); code != 200 || !strings.Contains(body, `"name": "node1"`) || !strings.Contains(body, `"next_run"`) {
		t.Errorf("/api/v1/jobs: %d %s", code, body)
	}

	p.stop(t)
	logs := p.stderr.String()
	for _, want := range []string{`"msg":"backup saved"`, `"msg":"retention applied"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s", want)
		}
	}
	// Whatever SIGTERM cut short, every listed backup is whole.
	for _, repo := range []string{repoA, repoB} {
		mustRun(t, "verify", "--repo", repo, "--read-data")
		if ents, _ := os.ReadDir(filepath.Join(repo, "locks")); len(ents) != 0 {
			t.Errorf("%s: serve left %d locks", repo, len(ents))
		}
	}
}

// TestServeSIGTERMMidBackup: SIGTERM past the grace period cancels the
// running backup; serve exits 0 and nothing half-written is listed.
func TestServeSIGTERMMidBackup(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	addPart(t, filepath.Join(root, "stream", "data", "bk_stream", "seg-20261120", "shard-0"), "0000000000000002", 256<<20)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	p := startServe(t, fmt.Sprintf(`listen: 127.0.0.1:0
shutdown_grace: 0s
jobs:
  - name: offline
    source: {root: %s, server_time_zone: UTC}
    repositories: [{url: %s}]
    schedule: "@daily"
    limits: {read: 32MiB}
`, root, repo))
	if code := p.post(t, "/api/v1/jobs/offline/run"); code != http.StatusAccepted {
		t.Fatalf("POST run: %d", code)
	}
	doneRe := regexp.MustCompile(`"bytes_done": ([1-9][0-9]*)`)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if _, body := p.get(t, "/api/v1/jobs"); doneRe.MatchString(body) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.stop(t)
	logs := p.stderr.String()
	if !strings.Contains(logs, `"kind":"cancelled"`) {
		t.Fatalf("the backup was not cancelled by SIGTERM:\n%s", logs)
	}
	if out := mustRun(t, "list", "--repo", repo, "--json"); out != "[]\n" {
		t.Errorf("a backup cut short by SIGTERM is listed: %s", out)
	}
	if ents, _ := os.ReadDir(filepath.Join(repo, "locks")); len(ents) != 0 {
		t.Errorf("serve left %d locks", len(ents))
	}
	mustRun(t, "verify", "--repo", repo, "--read-data")
}

func TestServeConfigErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serve.yaml")
	if err := os.WriteFile(path, []byte("jobs:\n  - name: a\n    source: {root: /data}\n    repositories: [{url: /r}]\n    schedule: \"@evry 6h\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "serve", "--config", path)
	if r.code != 2 || !strings.Contains(r.stderr, path+":5: jobs[0].schedule: cannot parse schedule") {
		t.Fatalf("bad schedule: exit %d, stderr %q", r.code, r.stderr)
	}
	if err := os.WriteFile(path, []byte("jobs:\n  - name: a\n    source: {root: /data}\n    repositories: [{url: /r}]\n    schedule: \"@every 6h\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// --check looks for what the jobs name: here neither the root, nor the
	// repository, nor the node exists.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close()
	missing := filepath.Join(t.TempDir(), "missing-repo")
	if err := os.WriteFile(path, []byte("jobs:\n  - name: a\n    source: {root: /nonexistent/data, node: \""+deadAddr+"\", connect_timeout: 2s}\n    repositories: [{url: "+missing+"}]\n    schedule: \"@every 6h\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, "serve", "--config", path, "--check")
	for _, want := range []string{"jobs[0].source.root", "/nonexistent/data", "jobs[0].repositories[0]", "banyan-backup init", "jobs[0].source.node", deadAddr} {
		if r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("--check of missing things: exit %d, stderr %q; want 1, naming %s", r.code, r.stderr, want)
		}
	}
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, true)
	mustRun(t, "init", "--repo", missing)
	if err := os.WriteFile(path, []byte("jobs:\n  - name: a\n    source: {root: "+root+", node: \""+srv.GRPCAddr()+"\"}\n    repositories: [{url: "+missing+"}]\n    schedule: \"@every 6h\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, "serve", "--config", path, "--check"); !strings.Contains(out, "ok, 1 jobs") {
		t.Fatalf("--check: %q", out)
	}
	if r := run(t, "serve"); r.code != 2 || !strings.Contains(r.stderr, "--config") {
		t.Fatalf("no config: exit %d, %q", r.code, r.stderr)
	}
	if r := run(t, "backup", "--repo", "/nonexistent", "--root", "/nonexistent", "--limit-read", "fast"); r.code != 2 || !strings.Contains(r.stderr, "--limit-read") {
		t.Fatalf("bad --limit-read: exit %d, %q", r.code, r.stderr)
	}
}

// The limit flags are wired into backup and restore: limited runs store and
// restore the same bytes (their rates are measured by bench/limit.sh).
func TestLimitFlags(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, root, "--limit-read", "64MiB", "--limit-upload", "64MiB", "--concurrency", "1", "--cpus", "1", "--nice", "5")
	if b.BytesRead != b.BytesTotal || b.BytesTotal == 0 {
		t.Fatalf("limited backup: %+v", b)
	}
	target := filepath.Join(t.TempDir(), "restored")
	mustRun(t, "restore", b.ID, "--repo", repo, "--target", target, "--limit-download", "64MiB", "--concurrency", "2")
	compareTrees(t, root, target)
	if out := mustRun(t, "verify", "--repo", repo, "--read-data-subset", "50%", "--limit-download", "64MiB"); !strings.Contains(out, "data of subset 50%") {
		t.Errorf("verify of half the packs, limited: %q", out)
	}
	for _, bad := range [][]string{{"--limit-upload", "lots"}, {"--nice", "40"}, {"--ionice", "fast"}, {"--concurrency", "-1"}} {
		args := append([]string{"backup", "--repo", repo, "--root", root}, bad...)
		if r := run(t, args...); r.code != 2 || !strings.Contains(r.stderr, bad[0]) {
			t.Errorf("%v: exit %d, %q; want 2 naming %s", bad, r.code, r.stderr, bad[0])
		}
	}
}
