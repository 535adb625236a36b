package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// upload starts every data node's upload at once, then polls the agents'
// status (which renews their leases) until every upload is done,
// releasing each node's snapshot as its upload ends. The first failure
// ends the step.
func (r *run) upload(ctx context.Context) error {
	data := r.byRole(agent.RoleData)
	err := r.each(ctx, PhaseUpload, data, func(ctx context.Context, m *member) error {
		return r.o.Client.Upload(ctx, m.node, r.op, r.o.Tags)
	})
	if err != nil {
		return err
	}
	p := newPoller(r.o.PollInterval)
	for {
		if err := r.each(ctx, PhaseUpload, data, r.pollUpload); err != nil {
			return err
		}
		if allUploaded(data) {
			return nil
		}
		if err := p.wait(ctx, time.Time{}); err != nil {
			return err
		}
	}
}

// pollUpload reads m's status (renewing its lease) and releases its
// snapshot once its upload is done.
func (r *run) pollUpload(ctx context.Context, m *member) error {
	st, err := r.o.Client.Status(ctx, m.node, r.op, r.statusTimeout())
	if err != nil {
		return err
	}
	op := st.Operation
	switch {
	case op == nil || op.ID != r.op:
		return errors.New("the agent no longer has the operation (its lease ended?)")
	case op.Phase == agent.PhaseFailed:
		return fmt.Errorf("the upload failed: %s", op.Error)
	case op.Phase == agent.PhaseUploaded:
		m.uploaded = true
	}
	if m.uploaded && !m.released {
		if err := r.o.Client.Release(ctx, m.node, r.op); err != nil {
			return err
		}
		m.released = true
	}
	return nil
}

// statusTimeout bounds a status call: it must end before the lease would.
func (r *run) statusTimeout() time.Duration {
	lease := r.o.Lease
	if lease <= 0 {
		lease = agent.DefaultLease
	}
	return lease / 3
}

func allUploaded(ms []*member) bool {
	for _, m := range ms {
		if !m.uploaded {
			return false
		}
	}
	return true
}

// commit checks that the coordinator's lock stands, has every data
// node's agent commit its node's backup, and writes the set: only if
// every node committed (docs/cluster.md, step 7).
func (r *run) commit(ctx context.Context) error {
	if err := r.lock.Check(ctx); err != nil {
		return err
	}
	data := r.byRole(agent.RoleData)
	err := r.eachAll(ctx, PhaseCommit, data, func(ctx context.Context, m *member) error {
		resp, err := r.o.Client.Commit(ctx, m.node, r.op, r.op)
		if err != nil {
			return err
		}
		id, err := repository.ParseID(resp.Backup)
		if err != nil {
			return fmt.Errorf("the agent answered backup id %q: %w", resp.Backup, err)
		}
		m.backup = id
		m.lacking = resp.LackingParts
		return nil
	})
	if err != nil {
		return err
	}
	set := r.buildSet()
	id, _, err := r.o.Repo.SaveSet(ctx, r.lock, set)
	if err != nil {
		return err
	}
	r.report.ID, r.report.Set = id.String(), set
	r.report.WindowSeconds = set.Window.Width().Seconds()
	r.end(ctx, data)
	return nil
}

// end ends the operation on the agents of ms once their backups are in
// the set (release ends a committed operation), so that each is free for
// the next run before its lease would end. An agent that cannot be
// reached ends it when the lease does; the report says so.
func (r *run) end(ctx context.Context, ms []*member) {
	_ = r.eachAll(context.WithoutCancel(ctx), PhaseCommit, ms, func(ctx context.Context, m *member) error {
		if err := r.o.Client.Release(ctx, m.node, r.op); err != nil {
			r.warn(fmt.Sprintf("%v (its operation ends with its lease)", err))
		}
		return nil
	})
}
