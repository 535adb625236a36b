package serve

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// startNodeAgent serves an agent beside node, writing into repo as
// "main".
func startNodeAgent(t *testing.T, node *sim.Server, root, tokenFile, repo string) string {
	t.Helper()
	a, err := agent.New(context.Background(), agent.Options{TokenFile: tokenFile, Role: agent.RoleData, NodeName: node.GRPCAddr(),
		Node: snapshot.Options{Node: node.GRPCAddr()}, Roots: banyandb.Roots{Root: root}, StateDir: t.TempDir(),
		Upload: backup.Options{Location: time.UTC},
		OpenRepository: func(ctx context.Context, name string) (*engine.Repo, error) {
			if name != "main" {
				return nil, fmt.Errorf("no repository %q", name)
			}
			return engine.Open(ctx, repo, engine.StoreOptions{})
		}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		hs.Close()
		_ = a.Close(context.Background())
	})
	return hs.URL
}

// A cluster job runs the coordinator: each run writes one set tagged
// job=NAME naming every node's backup, and retention keeps the newest
// set only, whole.
func TestClusterJobWritesSets(t *testing.T) {
	repo := initRepo(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(strings.Repeat("k", 40)), 0o600); err != nil {
		t.Fatal(err)
	}
	var agents []string
	for range 2 {
		node, root := startSim(t, sim.Faults{})
		agents = append(agents, fmt.Sprintf("%q: %q", node.GRPCAddr(), startNodeAgent(t, node, root, tokenFile, repo)))
	}
	cfg := mustConfig(t, fmt.Sprintf(`jobs:
  - name: prod
    source:
      cluster: {token_file: %s, agents: {%s}}
    repositories: [{name: local, url: %s}]
    schedule: "@daily"
    retention: {keep_last: 1}
`, tokenFile, strings.Join(agents, ", "), repo))
	srv := New(cfg, Options{})
	defer srv.Close()
	h := srv.Handler(openAccess)
	for range 2 {
		if code, body := post(t, h, "/api/v1/jobs/prod/run"); code != http.StatusAccepted {
			t.Fatalf("run: %d %s", code, body)
		}
		srv.Wait()
	}
	r, err := repository.Open(context.Background(), local.New(repo), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sets, err := r.Sets(context.Background())
	if err != nil || len(sets) != 1 {
		t.Fatalf("sets after two runs with keep_last 1: %d %v", len(sets), err)
	}
	s := sets[0]
	if s.Cluster != "prod" || s.DataNodes() != 2 || !slices.Contains(s.Tags, "job=prod") {
		t.Errorf("set %+v", s.Set)
	}
	if bs := backupsIn(t, repo); len(bs) != 2 {
		t.Errorf("backups: %d, want the kept set's 2 members", len(bs))
	}
	if m := scrape(t, h); !hasLine(m, `banyan_backup_backups_kept{backup_job="prod",repository="local"} 1`) {
		t.Errorf("metrics:\n%s", m)
	}
}
