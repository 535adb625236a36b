package cluster_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/cluster"
)

// A node whose agent cannot be reached at prepare ends the run before
// any snapshot: the error names the node and the phase, every agent is
// told to abort, and nothing is left (no operation, no snapshot, no set,
// no lock).
func TestUnreachableAgentAtPrepare(t *testing.T) {
	tc := startCluster(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	victim := tc.data[1].grpc
	o := tc.options(t, func(o *cluster.Options) {
		for i := range o.Nodes {
			if o.Nodes[i].Address == victim {
				o.Nodes[i].Agent = closed
			}
		}
	})
	rep, err := cluster.Backup(context.Background(), o)
	var ne *cluster.NodeError
	if !errors.As(err, &ne) || ne.Node != victim || ne.Phase != cluster.PhasePrepare || !strings.Contains(err.Error(), "every agent was told to abort") {
		t.Fatalf("run with %s's agent unreachable: %v", victim, err)
	}
	if rep == nil || rep.ID != "" || rep.Set != nil {
		t.Errorf("report of a failed run: %+v", rep)
	}
	for _, p := range tc.data {
		if st := p.stats(t); st.SnapshotCalls != 0 {
			t.Errorf("data node %s got %d snapshot calls", p.name, st.SnapshotCalls)
		}
	}
	tc.assertNothingLeft(t, o.Repo)
}

// A data node whose snapshot fails (one catalog's answer carries an
// error) aborts every node: the snapshots the others took, even those
// still being taken when the failure came, are deleted, and no set is
// written.
func TestSnapshotFailureAbortsAll(t *testing.T) {
	tc := startCluster(t)
	victim := tc.data[2]
	victim.post(t, "/sim/faults", `{"error_catalog":"stream"}`)
	// The others are still in their snapshot calls when the victim's
	// fails: their snapshots must be waited for, to be deleted.
	for _, p := range tc.data[:2] {
		p.post(t, "/sim/faults", `{"slow_snapshot":"1s"}`)
	}
	o := tc.options(t, nil)
	_, err := cluster.Backup(context.Background(), o)
	var ne *cluster.NodeError
	if !errors.As(err, &ne) || ne.Node != victim.grpc || ne.Phase != cluster.PhaseSnapshot || !strings.Contains(err.Error(), "stream") {
		t.Fatalf("run with %s's stream snapshot failing: %v", victim.name, err)
	}
	for _, p := range tc.data {
		if st := p.stats(t); st.SnapshotCalls != 1 {
			t.Errorf("data node %s got %d snapshot calls, want 1", p.name, st.SnapshotCalls)
		}
		// A node takes a snapshot whose caller has gone: wait until each
		// has made its directories before looking for them.
		deadline := time.Now().Add(time.Minute)
		for p.stats(t).SnapshotsTaken == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
	}
	tc.assertNothingLeft(t, o.Repo)
}

// A liaison that cannot deliver (its sender held) keeps parts older than
// the drain's target: with --undrained=fail the run ends after the
// bounded wait, before any snapshot, naming the liaison and its queue.
func TestUndrainedLiaisonFails(t *testing.T) {
	tc := startCluster(t)
	holdQueue(t, tc.liaison)
	o := tc.options(t, func(o *cluster.Options) {
		o.DrainTimeout, o.Undrained = time.Second, cluster.UndrainedFail
	})
	rep, err := cluster.Backup(context.Background(), o)
	var ne *cluster.NodeError
	if !errors.Is(err, cluster.ErrUndrained) || errors.As(err, &ne) || !strings.Contains(err.Error(), tc.liaison.name+" holds") {
		t.Fatalf("run with a liaison that cannot drain: %v", err)
	}
	if last := rep.Phases[len(rep.Phases)-1]; last.Name != cluster.PhaseDrain || last.Seconds < 1 {
		t.Errorf("phases %+v: the drain should be the last, at least 1 s", rep.Phases)
	}
	for _, p := range tc.data {
		if st := p.stats(t); st.SnapshotCalls != 0 {
			t.Errorf("data node %s got %d snapshot calls", p.name, st.SnapshotCalls)
		}
	}
	tc.assertNothingLeft(t, o.Repo)
}

// holdQueue stops the liaison's sender and waits until parts flushed
// since are queued.
func holdQueue(t *testing.T, p *simProc) {
	t.Helper()
	p.post(t, "/sim/faults", `{"hold_queue":true}`)
	flushes := p.stats(t).Flushes
	deadline := time.Now().Add(time.Minute)
	for st := p.stats(t); st.Flushes < flushes+2 || st.PartsQueued == 0; st = p.stats(t) {
		if time.Now().After(deadline) {
			t.Fatalf("the held liaison queued nothing: %+v", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
