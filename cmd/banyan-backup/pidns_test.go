//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// otherPIDNamespace is the command line prefix that runs a command in a
// new PID namespace, with its own /proc, on the same host name: as a
// second container of the same pod would. It skips the test where
// unshare cannot do that, and fails it under CI=true.
func otherPIDNamespace(t *testing.T) []string {
	t.Helper()
	prefix := []string{"unshare", "--pid", "--fork", "--mount-proc"}
	if out, err := exec.Command(prefix[0], append(prefix[1:], "true")...).CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot run a command in a new PID namespace (CI must): %v %s", err, out)
		}
		t.Skipf("cannot run a command in a new PID namespace: %v %s", err, out)
	}
	return prefix
}

// TestPruneBesideBackupInAnotherPIDNamespace runs a backup in the test's
// PID namespace and a prune and an `unlock` in another one, on the same
// host name (two containers of one pod). From there the backup's pid does
// not exist, which proves nothing about the backup: the code before judged
// its lock stale, and prune deleted the packs the backup had stored and
// not indexed yet, then the backup wrote its manifest and exited 0 with a
// backup that could not be restored. The backup is frozen (SIGSTOP) once
// it has stored a few packs and no index file, so that prune finds exactly
// those packs in no index; prune must be refused, delete nothing, and say
// why the lock is live; `unlock` must keep the lock and say why. Then the
// backup goes on, completes, verifies and restores, and a prune from the
// other namespace runs once it is done.
func TestPruneBesideBackupInAnotherPIDNamespace(t *testing.T) {
	other := otherPIDNamespace(t)
	loc := repoBackends[0].new(t)
	mustRun(t, "init", "--repo", loc.url, "--pack-size", "4")
	root := fixtureRoot(t, fixture.V011)
	backupJSONOf(t, loc.url, root)
	addPart(t, filepath.Join(root, "stream", "data", "bk_stream", "seg-20261120", "shard-0"), "0000000000000002", 48<<20)

	before := loc.objects(t, "data/")
	indexes := len(loc.objects(t, "index/"))
	b := startBackup(t, loc, root)
	waitFor(t, "the backup has stored two packs", func() bool {
		return len(loc.objects(t, "data/")) >= len(before)+2 || b.exited()
	})
	if err := sigstop(t, b.cmd.Process); err != nil {
		t.Fatalf("the backup finished before it could be frozen: %v", err)
	}
	waitFor(t, "the backup is stopped", func() bool { return stopped(t, b.cmd.Process.Pid) })
	var stored []string
	for name := range loc.objects(t, "data/") {
		if _, ok := before[name]; !ok {
			stored = append(stored, name)
		}
	}
	if n := len(loc.objects(t, "index/")); n != indexes {
		t.Fatalf("the backup wrote %d index files before it was frozen: its packs are not unindexed", n-indexes)
	}

	r := runVia(t, other, "prune", "--repo", loc.url)
	if r.code != 11 || !strings.Contains(r.stderr, "locked") || !strings.Contains(r.stderr, "another PID namespace") {
		t.Errorf("prune beside the backup: exit %d, want 11 saying the repository is locked by a process in another PID namespace\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	t.Logf("prune in another PID namespace: %s", r.stderr)
	now := loc.objects(t, "data/")
	for _, name := range stored {
		if _, ok := now[name]; !ok {
			t.Errorf("prune deleted %s, stored by the running backup", name)
		}
	}
	r = runVia(t, other, "unlock", "--repo", loc.url)
	if r.code != 0 || !strings.Contains(r.stdout, "removed 0 stale locks") || !strings.Contains(r.stdout, "another PID namespace") {
		t.Errorf("unlock beside the backup: exit %d, want 0 keeping the backup's lock and saying why\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	t.Logf("unlock in another PID namespace: %s", r.stdout)
	if locks := loc.objects(t, "locks/"); len(locks) != 1 {
		t.Errorf("%d locks after unlock, want the running backup's", len(locks))
	}

	if err := b.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	out := b.result(t)
	t.Logf("the backup stored %d packs before it was frozen; it added %d bytes in all", len(stored), out.BytesAdded)
	mustRun(t, "verify", "--repo", loc.url, "--read-data")
	restoresTo(t, loc, out.ID, root)

	// Once the backup is done, the other namespace prunes as usual.
	if r := runVia(t, other, "prune", "--repo", loc.url); r.code != 0 {
		t.Fatalf("prune after the backup: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustRun(t, "verify", "--repo", loc.url, "--read-data")
	restoresTo(t, loc, out.ID, root)
	if locks := loc.objects(t, "locks/"); len(locks) != 0 {
		t.Errorf("locks left: %v", fmt.Sprint(locks))
	}
}
