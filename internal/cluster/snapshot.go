package cluster

import (
	"context"
	"errors"

	"github.com/banyan-backup/banyan-backup/internal/agent"
)

// snapshot is the barrier: every agent is sent snapshot at once (one
// goroutine each, released together), and every call is waited for even
// after one fails, so that each agent knows what to delete. The coordinator records when each
// request left and its answer came back; a data node's answer must name
// snapshots, a liaison's carries its queue. A liaison's operation ends
// there: its agent has nothing to upload.
func (r *run) snapshot(ctx context.Context) error {
	// Not even the run's cancellation stops a call (each ends within the
	// call timeout): the snapshots it would leave could not be named.
	err := r.eachAll(context.WithoutCancel(ctx), PhaseSnapshot, r.members, func(ctx context.Context, m *member) error {
		m.sent = r.now().UTC()
		resp, err := r.o.Client.Snapshot(ctx, m.node, r.op)
		m.answered = r.now().UTC()
		if err != nil {
			return err
		}
		switch {
		case m.role() == agent.RoleData && len(resp.Snapshots) == 0:
			return errors.New("the agent answered no snapshot")
		case m.role() == agent.RoleLiaison && resp.Queue == nil:
			return errors.New("the liaison's agent answered no queue")
		}
		m.snap = resp
		return nil
	})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return r.eachAll(ctx, PhaseSnapshot, r.byRole(agent.RoleLiaison), func(ctx context.Context, m *member) error {
		return r.o.Client.Abort(ctx, m.node, r.op, 0)
	})
}
