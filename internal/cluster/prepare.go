package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// prepare starts the operation on every agent at once, within the
// prepare timeout, and checks what they found: each agent's node is the
// node discovery listed, no two agents serve the same node, and at least
// one is a data node.
func (r *run) prepare(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.o.PrepareTimeout)
	defer cancel()
	req := agent.PrepareRequest{Operation: r.op, Repository: r.o.Repository, LeaseSeconds: r.o.Lease.Seconds()}
	err := r.each(ctx, PhasePrepare, r.members, func(ctx context.Context, m *member) error {
		resp, err := r.o.Client.Prepare(ctx, m.node, req)
		if err != nil {
			return err
		}
		if resp.Role != agent.RoleData && resp.Role != agent.RoleLiaison {
			return fmt.Errorf("the agent serves a node of role %q", resp.Role)
		}
		if !SameNode(ctx, r.o.Resolver, m.node.Address, resp.Node) {
			return fmt.Errorf("the agent at %s serves node %s, not %s: fix the agent's --node-name or the agents given", m.node.Agent, resp.Node, m.node.Address)
		}
		m.prep = resp
		return nil
	})
	if err != nil {
		return err
	}
	seen := map[string]string{}
	for _, m := range r.members {
		if other, ok := seen[m.prep.Node]; ok {
			return fmt.Errorf("%w: the agents of %s and %s both serve node %s", ErrDiscovery, other, m.node.Address, m.prep.Node)
		}
		seen[m.prep.Node] = m.node.Address
	}
	if len(r.byRole(agent.RoleData)) == 0 {
		return fmt.Errorf("%w: no agent serves a data node", ErrDiscovery)
	}
	return nil
}

// byRole returns the members of a role.
func (r *run) byRole(role string) []*member {
	var out []*member
	for _, m := range r.members {
		if m.role() == role {
			out = append(out, m)
		}
	}
	return out
}

// drainLiaisons waits, up to the drain timeout, until no liaison's queue
// holds a part flushed before t0, the coordinator's time as the wait
// starts (docs/cluster.md, step 3). It records the wait; a queue still
// holding such parts at the end fails the run with UndrainedFail.
func (r *run) drainLiaisons(ctx context.Context) error {
	r.t0 = r.now().UTC()
	liaisons := r.byRole(agent.RoleLiaison)
	if len(liaisons) == 0 {
		return nil
	}
	r.drain = &repository.Drain{Target: r.t0}
	deadline := r.t0.Add(r.o.DrainTimeout)
	p := newPoller(r.o.PollInterval)
	for {
		if err := r.readQueues(ctx, liaisons); err != nil {
			return err
		}
		waiting := undrained(liaisons)
		r.drain.WaitedSeconds = r.now().Sub(r.t0).Seconds()
		if len(waiting) == 0 {
			return nil
		}
		if !r.now().Before(deadline) {
			r.drain.TimedOut = true
			if r.o.Undrained == UndrainedFail {
				return fmt.Errorf("%w in %v: %s", ErrUndrained, r.o.DrainTimeout, strings.Join(waiting, "; "))
			}
			return nil
		}
		if err := p.wait(ctx, deadline); err != nil {
			return err
		}
	}
}

// readQueues reads the queue of every liaison not drained yet.
func (r *run) readQueues(ctx context.Context, liaisons []*member) error {
	var todo []*member
	for _, m := range liaisons {
		if !m.drained {
			todo = append(todo, m)
		}
	}
	return r.each(ctx, PhaseDrain, todo, func(ctx context.Context, m *member) error {
		q, err := r.o.Client.Queue(ctx, m.node, r.op)
		if err != nil {
			return err
		}
		m.queue = q
		m.drained = q.OldestFlush == nil || !q.OldestFlush.Before(r.t0)
		return nil
	})
}

// undrained describes the liaisons still holding parts flushed before t0.
func undrained(liaisons []*member) []string {
	var out []string
	for _, m := range liaisons {
		if !m.drained {
			out = append(out, fmt.Sprintf("%s holds %d queued parts (%d bytes), the oldest flushed at %s",
				m.prep.Node, m.queue.Parts, m.queue.Bytes, m.queue.OldestFlush.Format(time.RFC3339Nano)))
		}
	}
	return out
}
