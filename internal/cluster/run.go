package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// member is one node in a run.
type member struct {
	node    Node
	prep    *agent.PrepareResponse
	snap    *agent.SnapshotResponse
	queue   *repository.LiaisonQueue // a liaison's last queue read
	drained bool
	// sent and answered bracket the snapshot call, by the coordinator's
	// clock.
	sent, answered     time.Time
	uploaded, released bool
	backup             repository.ID
	lacking            int
}

func (m *member) role() string {
	if m.prep == nil {
		return ""
	}
	return m.prep.Role
}

// run is one cluster backup.
type run struct {
	o       Options
	op      string
	now     func() time.Time
	members []*member
	lock    *repository.Lock
	drain   *repository.Drain
	t0      time.Time
	report  *Report
	mu      sync.Mutex // guards report.Warnings
}

// warn adds a warning to the report.
func (r *run) warn(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.report.Warnings = append(r.report.Warnings, msg)
}

// Backup runs one coordinated cluster backup and writes its set. On any
// failure every agent is told to abort, no set is written, and the error
// names the node and the cause; the report says how far the run got.
func Backup(ctx context.Context, o Options) (*Report, error) {
	r, err := newRun(o)
	if err != nil {
		return nil, err
	}
	if err := r.phase(PhaseRepository, func() error { return r.lockRepository(ctx) }); err != nil {
		return r.report, fmt.Errorf("cannot back up cluster: %w", err)
	}
	lctx, cancel := r.lock.Context(ctx)
	err = r.steps(lctx)
	cancel()
	if lerr := r.lock.Err(); err != nil && lerr != nil && !errors.Is(err, repository.ErrLockLost) {
		err = fmt.Errorf("%w (%v)", lerr, err) // the calls were cancelled when the lock was lost
	}
	_ = r.lock.Unlock(context.WithoutCancel(ctx))
	if err != nil {
		return r.report, r.fail(ctx, err)
	}
	if r.o.Duplicates != DuplicatesKeep {
		_ = r.phase(PhaseDuplicates, func() error { r.dropDuplicates(ctx); return nil })
	}
	return r.report, nil
}

// newRun checks o and fills in its defaults.
func newRun(o Options) (*run, error) {
	switch {
	case len(o.Nodes) == 0:
		return nil, fmt.Errorf("%w: no node", ErrDiscovery)
	case o.Client == nil || o.Repo == nil:
		return nil, errors.New("cannot back up cluster: no client or no repository")
	case o.Repository == "":
		return nil, errors.New("cannot back up cluster: no repository name for the agents")
	case o.Undrained != "" && o.Undrained != UndrainedRecord && o.Undrained != UndrainedFail:
		return nil, fmt.Errorf("cannot back up cluster: undrained %q: use record or fail", o.Undrained)
	}
	defaults(&o)
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("cannot make an operation id: %w", err)
	}
	r := &run{o: o, op: hex.EncodeToString(b), now: o.Clock}
	for _, n := range o.Nodes {
		r.members = append(r.members, &member{node: n})
	}
	r.report = &Report{Operation: r.op}
	return r, nil
}

// steps runs the phases after the repository's.
func (r *run) steps(ctx context.Context) error {
	for _, p := range []struct {
		name string
		fn   func(context.Context) error
	}{{PhasePrepare, r.prepare}, {PhaseDrain, r.drainLiaisons}, {PhaseSnapshot, r.snapshot},
		{PhaseUpload, r.upload}, {PhaseCommit, r.commit}} {
		if err := r.phase(p.name, func() error { return p.fn(ctx) }); err != nil {
			return err
		}
	}
	return nil
}

// phase runs fn as the named phase, timing it.
func (r *run) phase(name string, fn func() error) error {
	if r.o.OnPhase != nil {
		r.o.OnPhase(name)
	}
	start := r.now()
	err := fn()
	r.report.Phases = append(r.report.Phases, PhaseTime{Name: name, Start: start.UTC(), Seconds: r.now().Sub(start).Seconds()})
	return err
}

// lockRepository enables the sets feature if the repository lacks it
// (under a brief exclusive lock) and takes the shared lock held until the
// set is written, so that no prune runs meanwhile.
func (r *run) lockRepository(ctx context.Context) error {
	repo := r.o.Repo
	if !repo.Config().HasFeature(repository.FeatureSets) {
		l, err := repo.Lock(ctx, "cluster backup: enable backup sets", true)
		if err != nil {
			return err
		}
		err = repo.EnableFeature(ctx, l, repository.FeatureSets)
		if uerr := l.Unlock(context.WithoutCancel(ctx)); err == nil && uerr != nil {
			err = uerr
		}
		if err != nil {
			return err
		}
	}
	l, err := repo.Lock(ctx, "cluster backup "+r.op, false)
	if err != nil {
		return err
	}
	r.lock = l
	return nil
}
