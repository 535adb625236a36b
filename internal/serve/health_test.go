package serve

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/buildinfo"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/schedule"
)

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

// Before any run, every series an alert needs exists: the last success at
// 0 with has_succeeded 0, the schedule's interval, an empty histogram, and
// the build's identity. No series carries a label named job, which
// Prometheus reserves for its scrape job.
func TestMetricsFromStart(t *testing.T) {
	cfg := mustConfig(t, `jobs:
  - name: nightly
    source: {root: /nonexistent}
    repositories: [{name: local, url: /nonexistent/repo}]
    schedule: "30 2 * * *"
  - name: twice
    source: {root: /nonexistent}
    repositories: [{name: local, url: /nonexistent/repo}]
    schedule: ["0 6 * * *", "0 8 * * *"]
`)
	clock := schedule.NewFake(time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC))
	srv := New(cfg, Options{Clock: clock, Build: buildinfo.Info{Version: "v1.2.3", Commit: "abc123", GoVersion: "go1.26.8"}})
	defer srv.Close()
	m := scrape(t, srv.Handler(openAccess))
	for _, want := range []string{
		`banyan_backup_last_success_timestamp_seconds{backup_job="nightly",repository="local"} 0`,
		`banyan_backup_has_succeeded{backup_job="nightly",repository="local"} 0`,
		`banyan_backup_schedule_interval_seconds{backup_job="nightly"} 86400`,
		// 06:00 and 08:00: the longest gap is 22 hours.
		`banyan_backup_schedule_interval_seconds{backup_job="twice"} 79200`,
		`banyan_backup_backup_duration_seconds_count{backup_job="nightly",repository="local"} 0`,
		`banyan_backup_failures_total{backup_job="nightly",kind="repository",repository="local"} 0`,
		`banyan_backup_build_info{goversion="go1.26.8",revision="abc123",version="v1.2.3"} 1`,
	} {
		if !hasLine(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	for _, l := range strings.Split(m, "\n") {
		if strings.HasPrefix(l, "banyan_backup_") && (strings.Contains(l, `{job=`) || strings.Contains(l, `,job=`)) {
			t.Errorf("a series is labelled job: %s", l)
		}
	}
}

func TestScheduleInterval(t *testing.T) {
	from := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		spec string
		want time.Duration
	}{
		{"@hourly", time.Hour},
		{"@every 6h", 6 * time.Hour},
		{"@every 1s", time.Second},
		{"0 2 * * 1-5", 72 * time.Hour}, // Friday to Monday
		{"@monthly", 31 * 24 * time.Hour},
		{"@yearly", 366 * 24 * time.Hour}, // 2028 is a leap year
	} {
		s, err := schedule.Parse(c.spec, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if got := scheduleInterval(s, from); got != c.want {
			t.Errorf("%s: %s, want %s", c.spec, got, c.want)
		}
	}
}

// value is a series' value in a scrape (the test fails without it).
func value(t *testing.T, metrics, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(metrics, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			return f
		}
	}
	t.Fatalf("no series %s in:\n%s", series, metrics)
	return 0
}

type readyAnswer struct {
	Status  string    `json:"status"`
	Reasons []Unready `json:"reasons"`
}

func readyz(t *testing.T, h http.Handler) (int, readyAnswer) {
	t.Helper()
	code, body := get(t, h, "/readyz")
	var a readyAnswer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("/readyz: %v: %s", err, body)
	}
	return code, a
}

// /readyz: ready until two schedule intervals pass with no success known;
// a success makes it ready again, for two intervals; a failed last run in
// any repository makes it not ready at once, naming the job, repository
// and failure kind. /healthz stays 200 throughout.
func TestReadiness(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo := initRepo(t)
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: hourly
    source: {root: %s, server_time_zone: UTC}
    repositories: [{name: local, url: %s}]
    schedule: "@hourly"
`, root, repo))
	start := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	clock := schedule.NewFake(start)
	srv := New(cfg, Options{Clock: clock})
	defer srv.Close()
	h := srv.Handler(openAccess)
	if code, a := readyz(t, h); code != http.StatusOK || a.Status != "ready" {
		t.Fatalf("at start: %d %+v", code, a)
	}
	clock.Set(start.Add(2*time.Hour + time.Second))
	code, a := readyz(t, h)
	if code != http.StatusServiceUnavailable || len(a.Reasons) != 1 || a.Reasons[0].Job != "hourly" ||
		!strings.HasPrefix(a.Reasons[0].Reason, "no successful backup known") {
		t.Fatalf("two intervals without a success: %d %+v", code, a)
	}
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d", code)
	}
	if ok, err := srv.Trigger("hourly", "api"); !ok || err != nil {
		t.Fatalf("trigger: %v %v", ok, err)
	}
	srv.Wait()
	if code, a := readyz(t, h); code != http.StatusOK {
		t.Fatalf("after a success: %d %+v", code, a)
	}
	okAt := clock.Now()
	if m := scrape(t, h); !hasLine(m, `banyan_backup_has_succeeded{backup_job="hourly",repository="local"} 1`) ||
		value(t, m, `banyan_backup_last_success_timestamp_seconds{backup_job="hourly",repository="local"}`) != float64(okAt.Unix()) {
		t.Errorf("success not exported:\n%s", scrape(t, h))
	}
	clock.Set(okAt.Add(2*time.Hour + time.Second))
	if code, a := readyz(t, h); code != http.StatusServiceUnavailable || !strings.HasPrefix(a.Reasons[0].Reason, "no successful backup since") {
		t.Fatalf("two intervals after the success: %d %+v", code, a)
	}
}

func TestReadinessFailedRun(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo := initRepo(t)
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: two
    source: {root: %s, server_time_zone: UTC}
    repositories: [{name: good, url: %s}, {name: gone, url: %s}]
    schedule: "@daily"
`, root, repo, filepath.Join(t.TempDir(), "no-repo-here")))
	srv := New(cfg, Options{})
	defer srv.Close()
	if ok, err := srv.Trigger("two", "api"); !ok || err != nil {
		t.Fatalf("trigger: %v %v", ok, err)
	}
	srv.Wait()
	code, a := readyz(t, srv.Handler(openAccess))
	if code != http.StatusServiceUnavailable || len(a.Reasons) != 1 || a.Reasons[0].Repository != "gone" ||
		!strings.HasPrefix(a.Reasons[0].Reason, "the last run failed (repository)") {
		t.Fatalf("after a failed run: %d %+v", code, a)
	}
	srv.Close()
	if code, a := readyz(t, srv.Handler(openAccess)); code != http.StatusServiceUnavailable || a.Reasons[0].Reason != "shutting down" {
		t.Fatalf("closed: %d %+v", code, a)
	}
}

// A restarted server knows the job's last success from the repository:
// has_succeeded is 1 and the timestamp is the backup's before any run.
func TestLastSuccessSurvivesRestart(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo := initRepo(t)
	text := fmt.Sprintf(`jobs:
  - name: hourly
    source: {root: %s, server_time_zone: UTC}
    repositories: [{name: local, url: %s}]
    schedule: "@hourly"
`, root, repo)
	first := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	srv := New(mustConfig(t, text), Options{Clock: schedule.NewFake(first)})
	if ok, err := srv.Trigger("hourly", "api"); !ok || err != nil {
		t.Fatalf("trigger: %v %v", ok, err)
	}
	srv.Wait()
	srv.Close()
	backups := backupsIn(t, repo)
	if len(backups) != 1 {
		t.Fatalf("%d backups", len(backups))
	}
	clock := schedule.NewFake(first.Add(90 * time.Minute))
	again := New(mustConfig(t, text), Options{Clock: clock})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		again.Run(ctx, time.Minute)
		close(done)
	}()
	clock.WaitForWaiter(1)
	again.Wait()
	m := scrape(t, again.Handler(openAccess))
	cancel()
	<-done
	if got := value(t, m, `banyan_backup_last_success_timestamp_seconds{backup_job="hourly",repository="local"}`); got != float64(backups[0].Time.UnixNano())/1e9 {
		t.Errorf("after a restart, the last success is %f, want the backup's time %s", got, backups[0].Time)
	}
	for _, want := range []string{
		`banyan_backup_has_succeeded{backup_job="hourly",repository="local"} 1`,
		`banyan_backup_runs_total{backup_job="hourly",trigger="schedule"} 0`,
	} {
		if !hasLine(m, want) {
			t.Errorf("after a restart, metrics lack %q", want)
		}
	}
}
