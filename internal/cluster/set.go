package cluster

import (
	"sort"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// DefaultFlushTimeouts are BanyanDB's flush timeouts per catalog
// (docs/cluster.md, The watermark), assumed for a catalog no agent
// reports.
func DefaultFlushTimeouts() map[string]time.Duration {
	return map[string]time.Duration{"measure": 5 * time.Second, "stream": time.Second, "trace": time.Second}
}

// buildSet makes the set of a run whose every data node committed.
func (r *run) buildSet() *repository.Set {
	s := &repository.Set{Format: repository.SetFormat, Operation: r.op, Time: r.t0, Cluster: r.o.Cluster,
		Coordinator: r.o.Coordinator, ToolVersion: r.o.ToolVersion, Tags: r.o.Tags, Drain: r.drain}
	for _, m := range r.members {
		n := repository.SetNode{Name: m.prep.Node, Role: m.role()}
		if m.role() == agent.RoleData {
			id := m.backup
			n.Backup, n.LackingParts = &id, m.lacking
			n.Snapshot = &repository.SnapshotWindow{Start: m.sent, End: m.answered,
				AgentStart: m.snap.Start, AgentEnd: m.snap.End}
			s.Window = widen(s.Window, n.Snapshot.Start, n.Snapshot.End)
		} else {
			q := *m.snap.Queue
			q.Drained = m.drained
			n.Queue = &q
		}
		s.Nodes = append(s.Nodes, n)
	}
	sort.Slice(s.Nodes, func(i, j int) bool { return s.Nodes[i].Name < s.Nodes[j].Name })
	s.Watermark = Watermark(r.t0, r.oldestQueued(), r.flushTimeouts(agent.RoleLiaison), r.flushTimeouts(agent.RoleData))
	return s
}

// widen extends w to cover start and end.
func widen(w repository.Window, start, end time.Time) repository.Window {
	if w.Start.IsZero() || start.Before(w.Start) {
		w.Start = start
	}
	if end.After(w.End) {
		w.End = end
	}
	return w
}

// oldestQueued is the flush time of the oldest part a liaison still held
// at the end of the drain wait (nil when every liaison drained).
func (r *run) oldestQueued() *time.Time {
	var q *time.Time
	for _, m := range r.byRole(agent.RoleLiaison) {
		if m.drained || m.queue == nil || m.queue.OldestFlush == nil {
			continue
		}
		if q == nil || m.queue.OldestFlush.Before(*q) {
			q = m.queue.OldestFlush
		}
	}
	return q
}

// flushTimeouts is, per catalog, the longest flush timeout the agents of
// a role report (the defaults for a catalog none reports, or when no
// agent has the role).
func (r *run) flushTimeouts(role string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, m := range r.byRole(role) {
		for c, v := range m.prep.FlushTimeouts {
			if d, err := time.ParseDuration(v); err == nil && d > out[c] {
				out[c] = d
			}
		}
	}
	for c, d := range DefaultFlushTimeouts() {
		if _, ok := out[c]; !ok {
			out[c] = d
		}
	}
	return out
}

// Watermark is, per catalog c, min(t0, q) − liaison(c) − data(c)
// (docs/cluster.md, The watermark): t0 the drain's target, q the flush
// time of the oldest part a liaison still held when the wait ended (nil:
// none), and the flush timeouts of the liaisons and the data nodes.
func Watermark(t0 time.Time, q *time.Time, liaison, data map[string]time.Duration) map[string]time.Time {
	base := t0
	if q != nil && q.Before(base) {
		base = *q
	}
	out := map[string]time.Time{}
	for c, fl := range liaison {
		out[c] = base.Add(-fl - data[c]).UTC()
	}
	for c, fd := range data {
		if _, ok := out[c]; !ok {
			out[c] = base.Add(-fd).UTC()
		}
	}
	return out
}
