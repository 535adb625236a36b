package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// snapshotNames returns "<catalog>/<name>" of every snapshot directory
// under root.
func snapshotNames(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, c := range []string{"measure", "stream", "trace", "property", "schema-property"} {
		ents, err := os.ReadDir(filepath.Join(root, c, "snapshots"))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range ents {
			out = append(out, c+"/"+e.Name())
		}
	}
	slices.Sort(out)
	return out
}

// operatorSnapshot asks the node for a snapshot over its HTTP API, as an
// operator does with curl, and returns its directories.
func operatorSnapshot(t *testing.T, srv *sim.Server, root string) []string {
	t.Helper()
	before := snapshotNames(t, root)
	resp, err := http.Post("http://"+srv.HTTPAddr()+"/api/v1/snapshot", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("operator's snapshot: HTTP %d", resp.StatusCode)
	}
	var made []string
	for _, n := range snapshotNames(t, root) {
		if !slices.Contains(before, n) {
			made = append(made, n)
		}
	}
	if len(made) == 0 {
		t.Fatal("the operator's snapshot made no directory")
	}
	return made
}

// pollFor polls cond every 10 ms for up to d and reports whether it held.
func pollFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestKilledLiveBackupsSnapshotIsRemovedByTheNext kills a live backup
// (SIGKILL) once the node has answered its snapshot call: its snapshot
// directories stay. The next live backup removes them, says so, and leaves
// the snapshot an operator took by hand, which no backup claimed.
func TestKilledLiveBackupsSnapshotIsRemovedByTheNext(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, true)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	// The fixture holds a snapshot of its own, which no backup claimed
	// either.
	operators := append(snapshotNames(t, root), operatorSnapshot(t, srv, root)...)
	slices.Sort(operators)

	taken := srv.Stats().SnapshotsTaken
	cmd := exec.Command(binary, "backup", "--repo", repo, "--root", root, "--node", srv.GRPCAddr(), "--limit-read", "16KiB")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !pollFor(60*time.Second, func() bool { return srv.Stats().SnapshotsTaken > taken }) {
		t.Fatal("the backup's snapshot was not taken")
	}
	// Once the answer is in, the backup claims each of its snapshot
	// directories at once (the old code never did: then the kill comes
	// after the wait).
	claimed := func() bool {
		n := 0
		for _, d := range snapshotNames(t, root) {
			if slices.Contains(operators, d) {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, filepath.Dir(d), "snapshots", filepath.Base(d), snapshot.ClaimFile)); err != nil {
				return false
			}
			n++
		}
		return n > 0
	}
	pollFor(30*time.Second, claimed)
	killed := cmd.Process.Signal(syscall.SIGKILL) == nil
	state, _ := cmd.Process.Wait()
	if !killed || state.Success() {
		t.Fatal("the backup finished before it could be killed")
	}
	var left []string
	for _, n := range snapshotNames(t, root) {
		if !slices.Contains(operators, n) {
			left = append(left, n)
		}
	}
	if len(left) == 0 {
		t.Fatal("the killed backup left no snapshot: nothing to test")
	}

	var out struct {
		ID      string   `json:"id"`
		Removed []string `json:"abandoned_snapshots_removed"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "backup", "--repo", repo, "--root", root, "--node", srv.GRPCAddr(), "--json")), &out); err != nil {
		t.Fatal(err)
	}
	if got := snapshotNames(t, root); !slices.Equal(got, operators) {
		t.Errorf("after the next backup the snapshots are %v, want only the operator's %v (the killed backup left %v)", got, operators, left)
	}
	if len(out.Removed) != len(left) {
		t.Errorf("the next backup reports %v removed, the killed one left %v", out.Removed, left)
	}
	// The claim file the backup kept in its snapshot is not backed up.
	target := filepath.Join(t.TempDir(), "restored")
	mustRun(t, "restore", out.ID, "--repo", repo, "--target", target)
	if m, _ := filepath.Glob(filepath.Join(target, "*", "data", snapshot.ClaimFile+"*")); len(m) > 0 {
		t.Errorf("the backup holds its claim files: %v", m)
	}
}

// TestInterruptedLiveBackupRemovesItsSnapshot sends SIGINT while the node
// is still taking the snapshot: the backup waits for the answer, removes
// the snapshot the node made, and exits 130, interrupted.
func TestInterruptedLiveBackupRemovesItsSnapshot(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, true)
	if err := srv.SetFaults(sim.Faults{SlowSnapshot: sim.Duration(3 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	before := snapshotNames(t, root) // the fixture's
	cmd := exec.Command(binary, "backup", "--repo", repo, "--root", root, "--node", srv.GRPCAddr())
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !pollFor(60*time.Second, func() bool { return srv.Stats().SnapshotCalls > 0 }) {
		t.Fatal("the backup did not call the node")
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("interrupted live backup: exit %d, stderr %q; want 130, interrupted", code, stderr.String())
	}
	// The node finishes the snapshot whoever waits for it.
	if !pollFor(60*time.Second, func() bool { return srv.Stats().SnapshotsTaken > 0 }) {
		t.Fatal("the node took no snapshot")
	}
	if left := snapshotNames(t, root); !slices.Equal(left, before) {
		t.Errorf("the interrupted backup left the node's snapshot: %v, before %v", left, before)
	}
}

// TestLiveBackupWithTheWrongRoot: a --root that is not the node's (an
// empty directory, a copy of the node's root) is a usage error (exit 2)
// that says the root does not match the node, and the node keeps no
// snapshot of it.
func TestLiveBackupWithTheWrongRoot(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, true)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	before := snapshotNames(t, root) // the fixture's
	empty := t.TempDir()
	cp := filepath.Join(t.TempDir(), "copy")
	if out, err := exec.Command("cp", "-a", root, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	for _, wrong := range []string{empty, cp, filepath.Join(empty, "missing")} {
		for _, node := range []string{srv.GRPCAddr(), "http://" + srv.HTTPAddr()} {
			r := run(t, "backup", "--repo", repo, "--root", wrong, "--node", node)
			if r.code != 2 || !strings.Contains(r.stderr, "the root does not match the node") || !strings.Contains(r.stderr, wrong) {
				t.Errorf("--root %s: exit %d, stderr %q; want 2, the root does not match the node", wrong, r.code, r.stderr)
			}
		}
		if left := snapshotNames(t, root); !slices.Equal(left, before) {
			t.Errorf("--root %s: the node keeps a snapshot: %v, before %v", wrong, left, before)
		}
	}
	if out := mustRun(t, "list", "--repo", repo, "--json"); out != "[]\n" {
		t.Errorf("a backup of the wrong root is listed: %s", out)
	}
}
