package engine_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/retention"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
)

// A repository opened by the engine goes through the one stack: what it
// reads and writes is counted, and its limits apply.
func TestOpenThroughTheStack(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "repo")
	o := engine.StoreOptions{}
	o.Stack.Upload = ratelimit.New(1 << 20)
	r, err := engine.Init(ctx, dir, repository.InitOptions{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if c := r.Counts(); c.Uploaded == 0 || c.Puts+c.Gets == 0 {
		t.Errorf("init wrote through no counter: %+v", c)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r, err = engine.Open(ctx, dir, o)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if c := r.Counts(); c.Downloaded == 0 {
		t.Errorf("open read nothing through the counter: %+v", c)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := engine.Open(ctx, "s3://", engine.StoreOptions{}); !errors.Is(err, backends.ErrBadURL) {
		t.Errorf("a bucketless URL: %v, want ErrBadURL", err)
	}
	if _, err := engine.Open(ctx, filepath.Join(t.TempDir(), "none"), engine.StoreOptions{}); !errors.Is(err, repository.ErrNoRepository) {
		t.Errorf("a missing repository: %v, want ErrNoRepository", err)
	}
}

// Retention without group keys judges every backup as one group (a serve
// job's backups); with host, each host's backups on their own.
func TestApplyRetentionGroups(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var backups []repository.Backup
	for i, host := range []string{"a", "b", "a", "b"} {
		backups = append(backups, repository.Backup{ID: repository.Hash([]byte{byte(i)}),
			Manifest: &repository.Manifest{Time: t0.Add(time.Duration(i) * time.Hour), Hostname: host}})
	}
	p := retention.Policy{Last: 1}
	one := engine.ApplyRetention(p, backups, nil, t0.Add(time.Hour*5))
	if len(one.Groups) != 1 || len(one.Remove) != 3 {
		t.Errorf("no group keys: %d groups, %d removed; want 1 group, 3 removed", len(one.Groups), len(one.Remove))
	}
	byHost := engine.ApplyRetention(p, backups, []string{engine.GroupByHost}, t0.Add(time.Hour*5))
	if len(byHost.Groups) != 2 || len(byHost.Remove) != 2 || byHost.Groups[0].Host != "a" {
		t.Errorf("by host: %+v", byHost)
	}
	if err := engine.CheckGroupBy([]string{"host", "colour"}); err == nil {
		t.Error("CheckGroupBy accepted colour")
	}
}
