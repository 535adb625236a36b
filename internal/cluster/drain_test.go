package cluster_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/cluster"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// liaisonNode returns the set's liaison.
func liaisonNode(t *testing.T, s *repository.Set) repository.SetNode {
	t.Helper()
	for _, n := range s.Nodes {
		if n.Role == repository.RoleLiaison {
			return n
		}
	}
	t.Fatalf("no liaison in %+v", s.Nodes)
	return repository.SetNode{}
}

// A liaison that cannot deliver, with --undrained=record (the default):
// after the bounded wait the run goes on, and the set records the wait as
// timed out, the liaison's queue as not drained, and a watermark before
// the oldest queued part by the flush timeouts.
func TestUndrainedLiaisonIsRecorded(t *testing.T) {
	tc := startCluster(t)
	holdQueue(t, tc.liaison)
	o := tc.options(t, func(o *cluster.Options) { o.DrainTimeout = time.Second })
	rep, err := cluster.Backup(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Set
	l := liaisonNode(t, s)
	if s.Drain == nil || !s.Drain.TimedOut || s.Drain.WaitedSeconds < 1 || l.Queue == nil || l.Queue.Drained || l.Queue.Parts == 0 {
		t.Fatalf("drain %+v, liaison %+v", s.Drain, l.Queue)
	}
	if wm := s.Watermark["measure"]; !wm.Before(s.Drain.Target.Add(-10 * time.Second)) {
		t.Errorf("measure watermark %v, drain target %v: want before the oldest queued part, 10 s before the target", wm, s.Drain.Target)
	}
}

// A liaison that delivers again while the coordinator waits: the wait
// ends without timing out, and the set records the liaison as drained.
func TestDrainWaitsForTheLiaison(t *testing.T) {
	tc := startCluster(t)
	holdQueue(t, tc.liaison)
	o := tc.options(t, func(o *cluster.Options) {
		o.DrainTimeout = 3 * time.Minute
		o.OnPhase = func(p string) {
			if p == cluster.PhaseDrain {
				go func() {
					resp, err := http.Post("http://"+tc.liaison.http+"/sim/faults", "application/json", strings.NewReader(`{"hold_queue":false}`))
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
				}()
			}
		}
	})
	rep, err := cluster.Backup(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Set
	if l := liaisonNode(t, s); s.Drain == nil || s.Drain.TimedOut || l.Queue == nil || !l.Queue.Drained {
		t.Errorf("drain %+v, liaison %+v", s.Drain, l.Queue)
	}
}

// A data node whose upload fails (its agent cannot open the repository)
// aborts every node: nothing is left, and no set is written.
func TestUploadFailureAbortsAll(t *testing.T) {
	tc := startCluster(t)
	victim := tc.data[1]
	broken := tc.startAgent(t, victim, agent.RoleData, func(o *agent.Options) {
		open := o.OpenRepository
		o.CheckRepository = func(ctx context.Context, name string) error {
			r, err := open(ctx, name)
			if err == nil {
				err = r.Close()
			}
			return err
		}
		o.OpenRepository = func(context.Context, string) (*engine.Repo, error) {
			return nil, errors.New("the repository is unreachable")
		}
	})
	tc.agents[victim.grpc] = broken
	o := tc.options(t, nil)
	_, err := cluster.Backup(context.Background(), o)
	var ne *cluster.NodeError
	if !errors.As(err, &ne) || ne.Node != victim.grpc || ne.Phase != cluster.PhaseUpload {
		t.Fatalf("run with %s's upload failing: %v", victim.name, err)
	}
	tc.assertNothingLeft(t, o.Repo)
}

// A coordinator whose repository lock is removed while the agents upload
// (an operator's `unlock --remove-all`, say) writes no set: the run fails
// with ErrLockLost, and every agent is told to abort.
func TestLockLostWritesNoSet(t *testing.T) {
	tc := startCluster(t)
	o := tc.options(t, func(o *cluster.Options) {
		o.OnPhase = func(p string) {
			if p != cluster.PhaseUpload {
				return
			}
			locks, _ := filepath.Glob(filepath.Join(tc.repoDir, "locks", "*"))
			for _, l := range locks {
				if err := os.Remove(l); err != nil {
					t.Error(err)
				}
			}
		}
	})
	_, err := cluster.Backup(context.Background(), o)
	if !errors.Is(err, repository.ErrLockLost) {
		t.Fatalf("run whose lock was removed: %v", err)
	}
	tc.assertNothingLeft(t, o.Repo)
}
