package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Defaults of Options.
const (
	DefaultPrepareTimeout = time.Minute
	DefaultDrainTimeout   = 30 * time.Second
	DefaultPollInterval   = time.Second
	DefaultAbortTimeout   = 30 * time.Second
)

// Undrained says what a run does when a liaison's queue has not drained
// by the end of the drain wait.
type Undrained string

// Values of Undrained.
const (
	// UndrainedRecord goes on and records the queue in the set.
	UndrainedRecord Undrained = "record"
	// UndrainedFail aborts the run.
	UndrainedFail Undrained = "fail"
)

// ErrUndrained is a liaison whose queue did not drain in time, with
// UndrainedFail.
var ErrUndrained = errors.New("a liaison's write queue did not drain")

// Options say what cluster to back up, and how.
type Options struct {
	// Nodes are the cluster's nodes and their agents (Discover).
	Nodes []Node
	// Client reaches the agents.
	Client *Client
	// Repo is the repository, opened by the coordinator: it locks it and
	// writes the set into it.
	Repo *repository.Repository
	// Repository is the name under which every agent knows Repo.
	Repository string
	// Cluster names the cluster in the set; Coordinator is this host.
	Cluster, Coordinator, ToolVersion string
	Tags                              []string
	// Lease is the agents' lease of the operation; 0 means the agents'
	// default (agent.DefaultLease is assumed for the polls).
	Lease time.Duration
	// PrepareTimeout bounds the prepare step (every agent at once).
	PrepareTimeout time.Duration
	// DrainTimeout bounds the wait for the liaisons' queues; Undrained
	// says what happens when it runs out ("" means UndrainedRecord).
	DrainTimeout time.Duration
	Undrained    Undrained
	// PollInterval is how often the drain wait reads the queues and the
	// upload step reads the agents' status (at most a third of the
	// lease).
	PollInterval time.Duration
	// AbortTimeout bounds the abort sent to every agent after a failure.
	AbortTimeout time.Duration
	// Resolver resolves node addresses to match agents' node names; nil
	// means net.DefaultResolver.
	Resolver Resolver
	// OnPhase is told when each phase starts; nil: nobody.
	OnPhase func(phase string)
	// Clock returns the coordinator's time; nil means time.Now.
	Clock func() time.Time
}

// Phases of a run, in order.
const (
	PhaseRepository = "repository"
	PhasePrepare    = "prepare"
	PhaseDrain      = "drain"
	PhaseSnapshot   = "snapshot"
	PhaseUpload     = "upload"
	PhaseCommit     = "commit"
)

// NodeError is a node's failure, which ended a run.
type NodeError struct {
	Node  string
	Phase string
	Err   error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("node %s failed at %s: %v", e.Node, e.Phase, e.Err)
}
func (e *NodeError) Unwrap() error { return e.Err }

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
	defer func() { _ = r.lock.Unlock(context.WithoutCancel(ctx)) }()
	lctx, cancel := r.lock.Context(ctx)
	defer cancel()
	if err := r.steps(lctx); err != nil {
		if lerr := r.lock.Err(); lerr != nil && !errors.Is(err, repository.ErrLockLost) {
			err = fmt.Errorf("%w (%v)", lerr, err) // the calls were cancelled when the lock was lost
		}
		return r.report, r.fail(ctx, err)
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

func defaults(o *Options) {
	if o.PrepareTimeout <= 0 {
		o.PrepareTimeout = DefaultPrepareTimeout
	}
	if o.DrainTimeout < 0 {
		o.DrainTimeout = 0
	}
	if o.Undrained == "" {
		o.Undrained = UndrainedRecord
	}
	lease := o.Lease
	if lease <= 0 {
		lease = agent.DefaultLease
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	o.PollInterval = min(o.PollInterval, lease/3)
	if o.AbortTimeout <= 0 {
		o.AbortTimeout = DefaultAbortTimeout
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
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

// each calls fn for every member of ms at once, releasing the calls
// together once all goroutines run, and returns the first failure as a
// NodeError of phase; the first failure cancels the others' context.
func (r *run) each(ctx context.Context, phase string, ms []*member, fn func(context.Context, *member) error) error {
	return r.eachThen(ctx, phase, ms, true, fn)
}

// eachAll is each, but lets every call end by itself after a failure: a
// node takes a snapshot whose caller has gone, and only an agent that got
// the node's answer knows the snapshot's names to delete it.
func (r *run) eachAll(ctx context.Context, phase string, ms []*member, fn func(context.Context, *member) error) error {
	return r.eachThen(ctx, phase, ms, false, fn)
}

func (r *run) eachThen(ctx context.Context, phase string, ms []*member, cancelRest bool, fn func(context.Context, *member) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		start = make(chan struct{})
	)
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := fn(ctx, m); err != nil {
				once.Do(func() {
					first = &NodeError{Node: m.node.Address, Phase: phase, Err: err}
					if cancelRest {
						cancel()
					}
				})
			}
		}()
	}
	close(start)
	wg.Wait()
	return first
}

// fail tells every agent to abort (each may have started the operation,
// even one whose prepare answer was lost) and returns err with what the
// aborts left.
func (r *run) fail(ctx context.Context, err error) error {
	actx := context.WithoutCancel(ctx)
	var mu sync.Mutex
	var left []string
	var wg sync.WaitGroup
	for _, m := range r.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if aerr := r.o.Client.Abort(actx, m.node, r.op, r.o.AbortTimeout); aerr != nil && !unreachable(err, m.node.Address) {
				mu.Lock()
				left = append(left, aerr.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	msg := "every agent was told to abort; no set written"
	if len(left) > 0 {
		msg = fmt.Sprintf("no set written; %d agent(s) could not be told to abort and will when their lease ends: %s", len(left), strings.Join(left, "; "))
	}
	return fmt.Errorf("cannot back up cluster: %w (%s)", err, msg)
}

// unreachable reports whether err is node's agent not answering: its
// abort cannot be expected to get through either, and saying so again adds
// nothing.
func unreachable(err error, node string) bool {
	var ce *CallError
	return errors.As(err, &ce) && ce.Node == node && ce.Status == 0
}
