package main

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

func TestLiveBackupCommand(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, false)

	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	first := backupJSONOf(t, repo, root, "--node", srv.GRPCAddr())
	second := backupJSONOf(t, repo, root, "--node", "http://"+srv.HTTPAddr())
	if first.SnapshotSecs <= 0 || second.SnapshotSecs <= 0 {
		t.Errorf("live backups report no snapshot time: %v, %v", first.SnapshotSecs, second.SnapshotSecs)
	}
	if second.FilesRead >= first.Files {
		t.Errorf("the second live backup read %d of %d files: unchanged parts should not be read", second.FilesRead, first.Files)
	}
	show := mustRun(t, "show", second.ShortID, "--repo", repo)
	if !strings.Contains(show, "source      node http://"+srv.HTTPAddr()) || !strings.Contains(show, "API 0.11") {
		t.Errorf("show does not name the node and its API version:\n%s", show)
	}
	target := filepath.Join(t.TempDir(), "restored")
	mustRun(t, "restore", second.ID, "--repo", repo, "--target", target)
	mustRun(t, "check", target)

	// An unreachable node: exit 1 within the timeout, the address named,
	// nothing listed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	start := time.Now()
	r := run(t, "backup", "--repo", repo, "--root", root, "--node", dead, "--connect-timeout", "2s")
	if r.code != 1 || !strings.Contains(r.stderr, dead) {
		t.Errorf("unreachable node: exit %d, stderr %q; want 1 naming %s", r.code, r.stderr, dead)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("gave up after %v, want about 2s", d)
	}
	if out := mustRun(t, "list", "--repo", repo, "--json"); strings.Count(out, `"id"`) != 2 {
		t.Errorf("after a failed live backup the repository lists:\n%s", out)
	}
}
