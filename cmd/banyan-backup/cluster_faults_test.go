package main

import (
	"github.com/banyan-backup/banyan-backup/internal/testnet"
	"strings"
	"testing"
	"time"
)

// The faults of docs/cluster.md ("Failures and what they leave"), each
// node and its agent on a host of their own, the coordinator a
// `cluster backup` process in the test's namespace: every fault ends the
// run without a set, and once the leases have ended no snapshot is left
// on any node and the repository verifies.

// A node whose host is cut off before the run: prepare cannot reach its
// agent, and the run fails in bounded time naming the node, before any
// snapshot.
func TestClusterFaultNodeUnreachableAtPrepare(t *testing.T) {
	tc := startNetCluster(t, netClusterOptions{})
	victim := tc.data[1]
	victim.host.Cut()
	r := tc.backup(t, 3*time.Minute, "--lease", "6s", "--prepare-timeout", "5s")
	if r.code != exitError || !strings.Contains(r.stderr, "node "+victim.name+" failed at prepare") ||
		!strings.Contains(r.stderr, "no set written") {
		t.Fatalf("cluster backup with %s cut off: exit %d\n%s", victim.name, r.code, r.stderr)
	}
	for _, n := range tc.data {
		if n == victim {
			continue
		}
		if st := n.stats(t); st.SnapshotCalls != 0 {
			t.Errorf("data node %s got %d snapshot calls", n.name, st.SnapshotCalls)
		}
	}
	victim.host.Mend()
	if st := victim.stats(t); st.SnapshotCalls != 0 {
		t.Errorf("the cut node got %d snapshot calls", st.SnapshotCalls)
	}
	tc.assertClean(t)
}

// slowUploads has the agents read their snapshots at 32 KiB/s, so that
// every upload is still under way when a test strikes.
var slowUploads = netClusterOptions{agentArgs: []string{"--limit-read", "32KiB"}}

// The link between the coordinator and one agent cut during the upload:
// the coordinator's status poll to that agent fails within a third of the
// lease, and the run fails naming the node and aborts the others. The
// cut agent, which no call reaches any more, ends the operation when its
// lease does and deletes its snapshot while still cut off.
func TestClusterFaultLinkCutDuringUpload(t *testing.T) {
	tc := startNetCluster(t, slowUploads)
	victim := tc.data[0]
	coord := tc.startCoordinator(t, "--lease", "6s")
	waitUntil(t, 2*time.Minute, "the victim's agent uploads", func() bool { return tc.uploading(victim) })
	victim.host.Cut()
	code, stderr := coord.wait(t, 2*time.Minute)
	if code != exitError || !strings.Contains(stderr, "node "+victim.name+" failed at upload") || !strings.Contains(stderr, "no set written") {
		t.Fatalf("cluster backup with %s cut off during the upload: exit %d\n%s", victim.name, code, stderr)
	}
	if len(victim.snapshots()) == 0 {
		t.Log("the cut agent's snapshot was gone when the coordinator ended")
	}
	waitUntil(t, time.Minute, "the cut agent's lease ends and it deletes its snapshot", func() bool { return len(victim.snapshots()) == 0 })
	victim.host.Mend()
	tc.assertClean(t)
}

// An agent killed (SIGKILL) during its upload: the coordinator's next
// status poll fails, and the run fails naming the node and aborts the
// others. The killed agent's snapshot stays until the agent starts again,
// which deletes it before serving (docs/cluster.md, the agent's state).
func TestClusterFaultAgentKilledDuringUpload(t *testing.T) {
	tc := startNetCluster(t, slowUploads)
	victim := tc.data[2]
	coord := tc.startCoordinator(t, "--lease", "6s")
	waitUntil(t, 2*time.Minute, "the victim's agent uploads", func() bool { return tc.uploading(victim) })
	victim.agent.kill()
	code, stderr := coord.wait(t, 2*time.Minute)
	if code != exitError || !strings.Contains(stderr, "node "+victim.name+" failed at upload") || !strings.Contains(stderr, "no set written") {
		t.Fatalf("cluster backup with %s's agent killed: exit %d\n%s", victim.name, code, stderr)
	}
	if len(victim.snapshots()) == 0 {
		t.Fatal("the killed agent's snapshot is gone before it starts again: the test shows nothing")
	}
	victim.agent = tc.startAgent(t, victim)
	if left := victim.snapshots(); len(left) != 0 {
		t.Errorf("snapshots left once the agent started again: %v", left)
	}
	tc.assertClean(t)
}

// The coordinator killed (SIGKILL) once every data node's snapshot is
// taken and uploading: no call renews the leases, so each agent ends the
// operation by itself when its lease does, stopping its upload and
// deleting its snapshot.
func TestClusterFaultCoordinatorKilledAfterSnapshot(t *testing.T) {
	tc := startNetCluster(t, slowUploads)
	coord := tc.startCoordinator(t, "--lease", "6s")
	waitUntil(t, 2*time.Minute, "every data node's agent uploads", func() bool {
		for _, n := range tc.data {
			if len(n.snapshots()) == 0 || !tc.uploading(n) {
				return false
			}
		}
		return true
	})
	coord.kill()
	tc.assertClean(t)
}

// A liaison that never drains (its sender held, so its queue only
// grows): after the bounded wait, --undrained=fail ends the run before
// any snapshot with no set, naming the liaison; --undrained=record goes
// on and commits a set that records the liaison's queue as not drained.
func TestClusterFaultLiaisonNeverDrains(t *testing.T) {
	tc := startNetCluster(t, netClusterOptions{})
	l := tc.liaison
	l.fault(t, `{"hold_queue":true}`)
	flushes := l.stats(t).Flushes
	waitUntil(t, time.Minute, "the held liaison queues parts", func() bool {
		st := l.stats(t)
		return st.Flushes >= flushes+2 && st.PartsQueued > 0
	})
	r := tc.backup(t, 3*time.Minute, "--liaison-drain-timeout", "2s", "--undrained", "fail", "--lease", "10s")
	if r.code != exitError || !strings.Contains(r.stderr, l.name+" holds") || !strings.Contains(r.stderr, "no set written") {
		t.Fatalf("cluster backup --undrained=fail with a held liaison: exit %d\n%s", r.code, r.stderr)
	}
	for _, n := range tc.data {
		if st := n.stats(t); st.SnapshotCalls != 0 {
			t.Errorf("data node %s got %d snapshot calls", n.name, st.SnapshotCalls)
		}
	}
	tc.assertClean(t)

	r = tc.backup(t, 3*time.Minute, "--liaison-drain-timeout", "2s", "--lease", "10s", "--json")
	var rep struct {
		ID  string
		Set struct {
			Nodes []struct {
				Name, Role string
				Queue      *struct {
					Parts   int
					Drained bool
				}
			}
			Drain *struct {
				TimedOut bool `json:"timed_out"`
			}
		}
	}
	if r.code != exitOK {
		t.Fatalf("cluster backup --undrained=record with a held liaison: exit %d\n%s", r.code, r.stderr)
	}
	decode(t, r.stdout, &rep)
	if rep.Set.Drain == nil || !rep.Set.Drain.TimedOut {
		t.Errorf("the set's drain: %+v", rep.Set.Drain)
	}
	for _, n := range rep.Set.Nodes {
		if n.Role == "liaison" && (n.Name != l.name || n.Queue == nil || n.Queue.Drained || n.Queue.Parts == 0) {
			t.Errorf("the set's liaison: %+v", n)
		}
	}
	if left := tc.snapshotsLeft(); len(left) != 0 {
		t.Errorf("snapshots left: %v", left)
	}
	mustRun(t, "verify", "--repo", tc.repo)
}

// The repository (an S3 server on a host of its own) cut off while the
// agents store into it (their uploads limited, so that a pack is being
// sent when the link goes): each stalled request fails after the idle
// timeout and its retries fail, so the uploads fail, and the run fails
// with no set. Once the link is mended the repository verifies, and a
// prune (once the agents have restarted: see below) removes whatever the
// failed uploads stored.
func TestClusterFaultRepositoryUnreachable(t *testing.T) {
	n := testnet.New(t)
	s3 := startNetS3(t, n)
	tc := startNetCluster(t, netClusterOptions{net: n, repo: s3.repo, repoFlags: s3.flags,
		agentArgs: []string{"--limit-upload", "32KiB"}})
	coord := tc.startCoordinator(t, "--lease", "6s")
	waitUntil(t, 2*time.Minute, "every data node's agent uploads", func() bool {
		for _, n := range tc.data {
			if !tc.uploading(n) {
				return false
			}
		}
		return true
	})
	start := time.Now()
	s3.host.Cut()
	code, stderr := coord.wait(t, 5*time.Minute)
	t.Logf("the coordinator ended %v after the cut", time.Since(start).Round(time.Second))
	if code != exitError || !strings.Contains(stderr, "failed at upload") || !strings.Contains(stderr, "no set written") {
		t.Fatalf("cluster backup with the repository cut off: exit %d\n%s", code, stderr)
	}
	s3.host.Mend()
	tc.assertClean(t)
	// The uploads may have stored no pack yet when the link went (a
	// node's data fit one pack, stored once read); whatever they stored
	// is unreferenced.
	t.Logf("%d packs stored by the failed uploads", s3.objects(t, "data/"))
	// An agent whose upload failed while the repository was cut off could
	// not remove its repository lock, and the lock stays live while the
	// agent runs (until it is 30 minutes old): prune is refused until
	// then. Restarting the agents, as a node's maintenance would, ends
	// them.
	for _, n := range tc.data {
		n.agent.kill()
		n.agent = tc.startAgent(t, n)
	}
	mustRun(t, append([]string{"prune", "--repo", tc.repo}, tc.repoFlags...)...)
	if n := s3.objects(t, "data/"); n != 0 {
		t.Errorf("%d packs left after prune, with no backup in the repository", n)
	}
	mustRun(t, append([]string{"verify", "--repo", tc.repo}, tc.repoFlags...)...)
}
