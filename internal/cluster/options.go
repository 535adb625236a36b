package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Defaults of Options. DefaultPollInterval is short because an upload's
// end is only seen at the next poll: with a second, a cluster backup of a
// few seconds waited half a second on average after its slowest upload
// (bench/cluster.sh, docs/benchmarks.md); a status call is cheap.
const (
	DefaultPrepareTimeout = time.Minute
	DefaultDrainTimeout   = 30 * time.Second
	DefaultPollInterval   = 250 * time.Millisecond
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

// Duplicates says what a run does with blobs stored twice by its agents.
type Duplicates string

// Values of Duplicates.
const (
	// DuplicatesDrop deletes the second copies after the set is written,
	// if no other process holds a lock on the repository then (otherwise
	// the next prune does), moving at most one pack's size of blobs out
	// of packs that hold both kinds.
	DuplicatesDrop Duplicates = "drop"
	// DuplicatesKeep leaves them to the next prune.
	DuplicatesKeep Duplicates = "keep"
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
	// Duplicates says whether the run, once its set is written, deletes
	// the second copies of blobs two agents stored at once (the two
	// replicas of a part); the zero value does (docs/cluster.md, Upload).
	Duplicates Duplicates
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
	PhaseDuplicates = "duplicates"
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
