package schedule

import (
	"context"
	"sort"
	"sync"
	"time"
)

// Clock is the time source a scheduler waits on.
type Clock interface {
	Now() time.Time
	// After sends the clock's time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Real is the wall clock.
type Real struct{}

// Now implements Clock.
func (Real) Now() time.Time { return time.Now() }

// After implements Clock.
func (Real) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Fake is a clock that moves only when told to. It is safe for concurrent
// use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	added   chan struct{}
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewFake returns a fake clock reading start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start, added: make(chan struct{}, 1)}
}

// Now implements Clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// After implements Clock.
func (f *Fake) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	at := f.now.Add(d)
	if d <= 0 {
		ch <- f.now
		return ch
	}
	f.waiters = append(f.waiters, waiter{at: at, ch: ch})
	select {
	case f.added <- struct{}{}:
	default:
	}
	return ch
}

// Waiters is how many After channels have not fired yet.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// WaitForWaiter blocks until at least n After channels are pending, so a
// test can advance the clock only once the scheduler is waiting on it.
func (f *Fake) WaitForWaiter(n int) {
	for {
		f.mu.Lock()
		ok := len(f.waiters) >= n
		f.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-f.added:
		case <-time.After(time.Millisecond):
		}
	}
}

// Advance moves the clock forward by d and fires, in time order, every
// After channel whose time has come.
func (f *Fake) Advance(d time.Duration) {
	f.Set(f.Now().Add(d))
}

// Set moves the clock to t (never backwards) and fires the channels due.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.now = t
	}
	sort.SliceStable(f.waiters, func(i, j int) bool { return f.waiters[i].at.Before(f.waiters[j].at) })
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if w.at.After(f.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- f.now
	}
	f.waiters = kept
}

// Loop calls fire at each fire time of s, as clock tells time, until ctx is
// done. fire runs in Loop's goroutine: a long fire delays the next wait,
// and fire times that passed meanwhile are skipped (a clock that jumps
// past several fire times fires once). With a Fake clock, a test moves
// time with Advance once WaitForWaiter says Loop is waiting.
func Loop(ctx context.Context, clock Clock, s Schedule, fire func(at time.Time)) {
	for {
		now := clock.Now()
		next := s.Next(now)
		if next.IsZero() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-clock.After(next.Sub(now)):
			fire(next)
		}
	}
}
