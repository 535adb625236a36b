package cluster

import (
	"context"
	"time"
)

// firstPoll is the first wait of a polling loop; each wait doubles up to
// the run's poll interval, so that a short wait ends soon and a long one
// costs few calls.
const firstPoll = 50 * time.Millisecond

// poller paces a polling loop.
type poller struct {
	next, max time.Duration
}

func newPoller(max time.Duration) *poller { return &poller{next: min(firstPoll, max), max: max} }

// step returns the next wait and doubles the one after, up to max.
func (p *poller) step() time.Duration {
	d := p.next
	p.next = min(2*p.next, p.max)
	return d
}

// wait waits for the next poll, at most until limit (zero: no limit), or
// until ctx ends.
func (p *poller) wait(ctx context.Context, limit time.Time) error {
	d := p.step()
	if !limit.IsZero() {
		d = min(d, time.Until(limit)+time.Millisecond)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
