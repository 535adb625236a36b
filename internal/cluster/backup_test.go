package cluster_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/cluster"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Three data nodes and a liaison under write load: a run commits one set
// naming one backup per data node (each recording the operation), with
// the liaison's queue, the snapshot window inside the snapshot phase, a
// watermark before the drain's target, and the sets feature enabled on
// the way. Every agent is free afterwards, no snapshot is left, the
// repository lock is given up, and a second run makes a second set.
func TestClusterBackupCommitsASet(t *testing.T) {
	tc := startCluster(t)
	var seen phases
	o := tc.options(t, func(o *cluster.Options) { o.OnPhase = seen.add; o.Tags = []string{"nightly"} })
	if o.Repo.Config().HasFeature(repository.FeatureSets) {
		t.Fatal("a new repository has the sets feature")
	}
	rep, err := cluster.Backup(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{cluster.PhaseRepository, cluster.PhasePrepare, cluster.PhaseDrain, cluster.PhaseSnapshot, cluster.PhaseUpload,
		cluster.PhaseCommit, cluster.PhaseDuplicates}
	if len(seen.seen) != len(want) || len(rep.Phases) != len(want) {
		t.Errorf("phases %v, report %+v", seen.seen, rep.Phases)
	}
	if rep.Duplicates == nil {
		t.Errorf("the second copies were not looked for: warnings %v", rep.Warnings)
	}
	bs, err := o.Repo.FindSet(context.Background(), rep.ID[:12])
	if err != nil {
		t.Fatal(err)
	}
	s := bs.Set
	if s.Operation != rep.Operation || s.Cluster != "test" || s.DataNodes() != 3 || len(s.Nodes) != 4 {
		t.Fatalf("set %+v", s)
	}
	for _, n := range s.Nodes {
		if n.Role == repository.RoleLiaison {
			if n.Name != tc.liaison.name || n.Queue == nil || n.Backup != nil || n.Snapshot != nil {
				t.Errorf("liaison %+v", n)
			}
			continue
		}
		m, err := o.Repo.LoadManifest(context.Background(), *n.Backup)
		if err != nil || m.ClusterOperation != s.Operation || m.Hostname != n.Name {
			t.Errorf("node %s's backup: %+v %v", n.Name, m, err)
		}
		if sw := n.Snapshot; sw.Start.Before(s.Window.Start) || sw.End.After(s.Window.End) || sw.End.Before(sw.Start) {
			t.Errorf("node %s's snapshot %+v outside the window %+v", n.Name, sw, s.Window)
		}
	}
	snap := rep.Phases[3]
	if s.Window.Start.Before(snap.Start) || s.Window.Width() <= 0 || rep.WindowSeconds != s.Window.Width().Seconds() {
		t.Errorf("window %+v (%v s), snapshot phase %+v", s.Window, rep.WindowSeconds, snap)
	}
	if s.Drain == nil || s.Drain.TimedOut || s.Drain.Target.After(s.Window.Start) {
		t.Errorf("drain %+v, window %+v", s.Drain, s.Window)
	}
	if wm := s.Watermark["measure"]; !wm.Equal(s.Drain.Target.Add(-10 * time.Second)) {
		t.Errorf("measure watermark %v, drain target %v: want 5 s (liaison) + 5 s (data node) before", wm, s.Drain.Target)
	}
	if !o.Repo.Config().HasFeature(repository.FeatureSets) {
		t.Error("the run did not enable the sets feature")
	}
	// Every part is on two nodes (replicas: 1), and both agents stored it:
	// the run kept one copy, and a prune of duplicates finds none left.
	if d := rep.Duplicates; d != nil && d.PacksLeft == 0 {
		t.Logf("second copies: %+v", *d)
		l, err := o.Repo.Lock(context.Background(), "test", true)
		if err != nil {
			t.Fatal(err)
		}
		res, err := o.Repo.Prune(context.Background(), l, repository.PruneOptions{Scope: repository.PruneDuplicates, DryRun: true})
		_ = l.Unlock(context.Background())
		if err != nil || res.PacksDeleted != 0 || res.PacksRepacked != 0 || res.PacksUnused != 0 {
			t.Errorf("after the run a prune of duplicates would still do %+v (%v)", res, err)
		}
	}
	for addr, a := range tc.agents {
		if st := a.status(t); st.Operation != nil {
			t.Errorf("the agent of %s still has operation %+v", addr, st.Operation)
		}
	}
	if left := tc.snapshotsLeft(t); len(left) != 0 {
		t.Errorf("snapshots left: %v", left)
	}
	rep2, err := cluster.Backup(context.Background(), tc.options(t, nil))
	if err != nil || rep2.ID == rep.ID {
		t.Fatalf("second run: %+v %v", rep2, err)
	}
	sets, err := o.Repo.Sets(context.Background())
	if err != nil || len(sets) != 2 {
		t.Errorf("sets after two runs: %d %v", len(sets), err)
	}
}

// phases records the phases a run announces.
type phases struct {
	mu   sync.Mutex
	seen []string
}

func (p *phases) add(name string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, name)
}
