package serve

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/schedule"
)

// A job's verify schedule verifies its repositories: a clean verification
// sets verify_last_success_timestamp_seconds; a damaged pack, read with
// read_data, counts in verify_failures_total with the problems found.
func TestScheduledVerify(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo := initRepo(t)
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: yearly
    source: {root: %s, server_time_zone: UTC}
    repositories: [{name: local, url: %s}]
    schedule: "0 0 1 1 *"
    verify: {schedule: "@daily", read_data: true}
`, root, repo))
	start := time.Date(2026, 2, 1, 12, 0, 0, 0, time.UTC)
	clock := schedule.NewFake(start)
	logs := &syncBuffer{}
	srv := New(cfg, Options{Clock: clock, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	h := srv.Handler(openAccess)
	if m := scrape(t, h); !hasLine(m, `banyan_backup_verify_interval_seconds{backup_job="yearly"} 86400`) ||
		!hasLine(m, `banyan_backup_verify_failures_total{backup_job="yearly",repository="local"} 0`) ||
		!hasLine(m, `banyan_backup_verify_last_success_timestamp_seconds{backup_job="yearly",repository="local"} 0`) {
		t.Fatalf("verify series missing at start:\n%s", m)
	}
	if ok, err := srv.Trigger("yearly", "api"); !ok || err != nil {
		t.Fatalf("trigger: %v %v", ok, err)
	}
	srv.Wait()

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		srv.Run(ctx, time.Minute)
		close(done)
	}()
	verifyAt := func() {
		clock.WaitForWaiter(2) // the backup loop and the verify loop
		clock.Advance(24 * time.Hour)
		clock.WaitForWaiter(2)
		srv.Wait()
	}
	verifyAt()
	m := scrape(t, h)
	if got := value(t, m, `banyan_backup_verify_last_success_timestamp_seconds{backup_job="yearly",repository="local"}`); got != float64(clock.Now().Unix()) {
		t.Errorf("verify_last_success %f, want %d\n%s", got, clock.Now().Unix(), logs.String())
	}
	if !hasLine(m, `banyan_backup_verify_problems{backup_job="yearly",repository="local"} 0`) {
		t.Errorf("problems after a clean verify:\n%s", m)
	}

	damagePack(t, repo)
	verifyAt()
	cancel()
	<-done
	m = scrape(t, h)
	if !hasLine(m, `banyan_backup_verify_failures_total{backup_job="yearly",repository="local"} 1`) ||
		value(t, m, `banyan_backup_verify_problems{backup_job="yearly",repository="local"}`) < 1 {
		t.Errorf("a damaged pack is not counted:\n%s", m)
	}
	if !strings.Contains(logs.String(), `"msg":"verify found problems"`) {
		t.Errorf("no log line for the problems:\n%s", logs.String())
	}
	if _, err := srv.TriggerVerify("nope"); err == nil {
		t.Error("verify of an unknown job started")
	}
}

// damagePack flips a byte in the middle of the repository's largest pack.
func damagePack(t *testing.T, repo string) {
	t.Helper()
	var largest string
	var size int64
	err := filepath.WalkDir(filepath.Join(repo, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if info, err := d.Info(); err == nil && info.Size() > size {
			largest, size = p, info.Size()
		}
		return nil
	})
	if err != nil || largest == "" {
		t.Fatalf("no pack to damage: %v", err)
	}
	f, err := os.OpenFile(largest, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, size/2); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, size/2); err != nil {
		t.Fatal(err)
	}
}
