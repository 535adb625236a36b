package serve

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/schedule"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// TestEncryptedRepositoryJob: a job backs up into an encrypted repository
// with the password file its config names.
func TestEncryptedRepositoryJob(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	dir := filepath.Join(t.TempDir(), "repo")
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte("job password\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := &repository.Credentials{Password: []byte("job password")}
	kdf := repository.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
	r, err := repository.Init(context.Background(), local.New(dir), repository.InitOptions{Encrypt: true, KDF: &kdf}, repository.Options{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: enc
    source: {root: %s, server_time_zone: UTC}
    repositories: [{name: sealed, url: %s, password_file: %s}]
    schedule: "@hourly"
`, root, dir, pwFile))
	clock := schedule.NewFake(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	srv := New(cfg, Options{Clock: clock})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		srv.Run(ctx, time.Minute)
		close(done)
	}()
	clock.WaitForWaiter(1)
	clock.Advance(time.Hour)
	clock.WaitForWaiter(1)
	srv.Wait()
	cancel()
	<-done

	r, err = repository.Open(context.Background(), local.New(dir), repository.Options{Credentials: creds})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bs, err := r.Backups(context.Background())
	if err != nil || len(bs) != 1 {
		t.Fatalf("%d backups, %v; want 1", len(bs), err)
	}
	if m := scrape(t, srv.Handler(openAccess)); !hasLine(m, `banyan_backup_backups_kept{backup_job="enc",repository="sealed"} 1`) {
		t.Errorf("metrics do not count the backup:\n%s", m)
	}
}
