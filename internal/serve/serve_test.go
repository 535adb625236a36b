package serve

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/schedule"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// syncBuffer collects logs written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func initRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r, err := repository.Init(context.Background(), local.New(dir), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	return dir
}

func backupsIn(t *testing.T, dir string) []repository.Backup {
	t.Helper()
	r, err := repository.Open(context.Background(), local.New(dir), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bs, err := r.Backups(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// openAccess serves the API to anyone, under httptest's host name.
var openAccess = Access{NoAuth: true, Hosts: []string{"example.com"}}

func mustConfig(t *testing.T, text string) *Config {
	t.Helper()
	cfg, err := ParseConfig("test.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// scrape returns the metrics text of the server's handler.
func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

func hasLine(metrics, line string) bool {
	for _, l := range strings.Split(metrics, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// A job on an hourly schedule, driven by a fake clock: each simulated hour
// makes one backup, stamped with the clock's time, and the retention policy
// keeps the newest three.
func TestScheduleOnFakeClock(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo := initRepo(t)
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: hourly
    source: {root: %s, server_time_zone: UTC}
    repositories: [{name: local, url: %s}]
    schedule: "@hourly"
    retention: {keep_last: 3, prune: true}
`, root, repo))
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	clock := schedule.NewFake(start)
	logs := &syncBuffer{}
	srv := New(cfg, Options{Clock: clock, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		srv.Run(ctx, time.Minute)
		close(done)
	}()
	const hours = 5
	for range hours {
		clock.WaitForWaiter(1)
		clock.Advance(time.Hour)
		clock.WaitForWaiter(1) // the loop fired and waits for the next hour
		srv.Wait()
	}
	cancel()
	<-done

	bs := backupsIn(t, repo)
	if len(bs) != 3 {
		t.Fatalf("%d backups kept, want 3 (keep_last 3 of %d)", len(bs), hours)
	}
	for i, b := range bs {
		// Newest first or oldest first, each on a simulated hour.
		if b.Time.Minute() != 0 || b.Time.Before(start) || !strings.Contains(strings.Join(b.Tags, ","), "job=hourly") {
			t.Errorf("backup %d: time %v, tags %v", i, b.Time, b.Tags)
		}
	}
	m := scrape(t, srv.Handler(openAccess))
	for _, want := range []string{
		`banyan_backup_runs_total{backup_job="hourly",trigger="schedule"} 5`,
		`banyan_backup_backups_kept{backup_job="hourly",repository="local"} 3`,
		`banyan_backup_backups_forgotten_total{backup_job="hourly",repository="local"} 2`,
		`banyan_backup_runs_skipped_total{backup_job="hourly",reason="overlap"} 0`,
		`banyan_backup_running{backup_job="hourly"} 0`,
	} {
		if !hasLine(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "banyan_backup_failures_total{") && !strings.HasSuffix(l, " 0") {
			t.Errorf("failure counted: %s", l)
		}
	}
	if !strings.Contains(logs.String(), `"msg":"backup saved"`) {
		t.Errorf("no backup saved log line:\n%s", logs.String())
	}
}

func startSim(t *testing.T, faults sim.Faults) (*sim.Server, string) {
	t.Helper()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	cfg := sim.DefaultConfig(root)
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	if err := srv.SetFaults(faults); err != nil {
		t.Fatal(err)
	}
	return srv, root
}

func post(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", path, nil))
	return rec.Code, rec.Body.String()
}

// A run asked for while the previous one is going is skipped and counted;
// the API says so with 409.
func TestOverlapIsSkippedAndCounted(t *testing.T) {
	node, root := startSim(t, sim.Faults{SlowSnapshot: sim.Duration(time.Second)})
	repo := initRepo(t)
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: live
    source: {node: %s, root: %s, server_time_zone: UTC}
    repositories: [{name: local, url: %s}]
    schedule: "@daily"
`, node.GRPCAddr(), root, repo))
	srv := New(cfg, Options{})
	defer srv.Close()
	h := srv.Handler(openAccess)
	if code, body := post(t, h, "/api/v1/jobs/live/run"); code != http.StatusAccepted {
		t.Fatalf("first run: %d %s", code, body)
	}
	if code, body := post(t, h, "/api/v1/jobs/live/run"); code != http.StatusConflict || !strings.Contains(body, "skipped") {
		t.Fatalf("overlapping run: %d %s", code, body)
	}
	if ok, err := srv.Trigger("live", "schedule"); ok || err != nil {
		t.Fatalf("overlapping scheduled run started: %v %v", ok, err)
	}
	if code, _ := post(t, h, "/api/v1/jobs/nope/run"); code != http.StatusNotFound {
		t.Fatalf("unknown job: %d", code)
	}
	srv.Wait()
	m := scrape(t, h)
	for _, want := range []string{
		`banyan_backup_runs_skipped_total{backup_job="live",reason="overlap"} 2`,
		`banyan_backup_runs_total{backup_job="live",trigger="api"} 1`,
	} {
		if !hasLine(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	if bs := backupsIn(t, repo); len(bs) != 1 || bs[0].Source.Node != node.GRPCAddr() {
		t.Fatalf("backups after one run: %+v", bs)
	}
}

// Cancelling the server mid-backup (SIGTERM past the grace period) aborts
// the backup: no manifest, no lock, no snapshot left; the failure is
// counted as cancelled.
func TestCancelMidBackupListsNothing(t *testing.T) {
	node, root := startSim(t, sim.Faults{})
	repo := initRepo(t)
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: slow
    source: {node: "http://%s", root: %s, server_time_zone: UTC}
    repositories: [{name: local, url: %s}]
    schedule: "@daily"
    limits: {read: 256KiB}
`, node.HTTPAddr(), root, repo))
	srv := New(cfg, Options{})
	before := snapshotEntries(root) // the fixture's own
	if ok, err := srv.Trigger("slow", "api"); !ok || err != nil {
		t.Fatalf("trigger: %v %v", ok, err)
	}
	// Wait (bounded) until the backup has read some of the snapshot.
	deadline := time.Now().Add(30 * time.Second)
	reading := func() bool {
		p := srv.Jobs()[0].Progress
		return p != nil && p.Phase == "backup" && p.BytesDone > 0
	}
	for !reading() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !reading() {
		t.Fatalf("the backup did not start reading: %+v %+v", srv.Jobs()[0], srv.Jobs()[0].LastRun)
	}
	if p := srv.Jobs()[0].Progress; p.BytesDone >= p.BytesTotal {
		t.Fatalf("the backup read everything before it could be cancelled: %+v", p)
	}
	srv.Close()
	srv.Wait()
	info := srv.Jobs()[0]
	if info.LastRun == nil || info.LastRun.OK || info.LastRun.Results[0].Kind != "cancelled" {
		t.Fatalf("last run after cancel: %+v", info.LastRun)
	}
	if bs := backupsIn(t, repo); len(bs) != 0 {
		t.Fatalf("a cancelled backup is listed: %+v", bs)
	}
	if ents, _ := os.ReadDir(filepath.Join(repo, "locks")); len(ents) != 0 {
		t.Errorf("a cancelled backup left %d locks", len(ents))
	}
	if left := snapshotEntries(root); len(left) != len(before) {
		t.Errorf("a cancelled backup left the node's snapshots: %v (before: %v)", left, before)
	}
	if !hasLine(scrape(t, srv.Handler(openAccess)), `banyan_backup_failures_total{backup_job="slow",kind="cancelled",repository="local"} 1`) {
		t.Errorf("cancelled failure not counted:\n%s", scrape(t, srv.Handler(openAccess)))
	}
	if _, err := srv.Trigger("slow", "api"); err == nil {
		t.Error("a closed server started a run")
	}
}

func snapshotEntries(root string) []string {
	var out []string
	for _, c := range banyandb.AllCatalogs() {
		ents, _ := os.ReadDir(filepath.Join(root, string(c), "snapshots"))
		for _, e := range ents {
			out = append(out, string(c)+"/"+e.Name())
		}
	}
	return out
}

// Credentials in a repository URL (user information, query values,
// fragment) appear neither in logs nor in API answers, even when the URL is
// quoted in an error.
func TestSecretsNotShown(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	const secret = "Sup3rS3cr3tT0ken"
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: leaky
    source: {root: %s}
    repositories: [{url: "file://user:%s@localhost/nonexistent?access_token=%s&x=%s#%s"}]
    schedule: "@daily"
`, root, secret, secret, secret, secret))
	logs := &syncBuffer{}
	srv := New(cfg, Options{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	defer srv.Close()
	h := srv.Handler(openAccess)
	if code, body := post(t, h, "/api/v1/jobs/leaky/run"); code != http.StatusAccepted {
		t.Fatalf("run: %d %s", code, body)
	}
	srv.Wait()
	var answers []string
	for _, path := range []string{"/api/v1/jobs", "/api/v1/jobs/leaky/backups", "/metrics", "/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		body, _ := io.ReadAll(rec.Body)
		answers = append(answers, string(body))
	}
	all := logs.String() + strings.Join(answers, "\n")
	if strings.Contains(all, secret) {
		t.Fatalf("the secret appears in logs or answers:\n%s", all)
	}
	if !strings.Contains(answers[0], `"failure_kind": "config"`) || !strings.Contains(logs.String(), `"msg":"backup failed"`) {
		t.Fatalf("the failed run is not reported:\n%s", all)
	}
}
