package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// A held lock is lost when its object was removed (by `unlock`, or by a
// process that judged it stale and took a conflicting lock), when it holds
// something other than what this process last wrote (taken over), or when
// this process has not written it for holdFor (others may judge it stale
// soon, and their clocks may be ahead). A lost lock is never written
// again, and the holder commits and deletes nothing more under it: a
// backup writes no index file and no manifest, a prune deletes nothing.

// Lost is closed once the lock is found lost; Err then says how.
func (l *Lock) Lost() <-chan struct{} { return l.lost }

// Err is nil while the lock is not known to be lost, then an error
// wrapping ErrLockLost.
func (l *Lock) Err() error {
	l.lostMu.Lock()
	defer l.lostMu.Unlock()
	return l.lostErr
}

// setLost records the first loss and returns the recorded error.
func (l *Lock) setLost(err error) error {
	l.lostMu.Lock()
	defer l.lostMu.Unlock()
	if l.lostErr == nil {
		l.lostErr = err
		close(l.lost)
	}
	return l.lostErr
}

func (l *Lock) lostError(what string) error {
	return fmt.Errorf("%w: lock %s of this %s %s; it stops here and commits or deletes nothing more: run it again",
		ErrLockLost, l.id(), l.info.Operation, what)
}

// Context returns a context that is cancelled, with the lock's error as
// its cause, once the lock is lost; cancel releases it.
func (l *Lock) Context(parent context.Context) (ctx context.Context, cancel context.CancelFunc) {
	ctx, cancelCause := context.WithCancelCause(parent)
	go func() {
		select {
		case <-l.lost:
			cancelCause(l.Err())
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancelCause(context.Canceled) }
}

// Check fails unless the lock still stands: its object holds what this
// process last wrote, written recently enough that no other process judges
// it stale. Callers check before each step that relies on the lock (a
// manifest, an index file, a batch of deletions).
func (l *Lock) Check(ctx context.Context) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	return l.verify(ctx)
}

// verify is Check; the caller holds writeMu.
func (l *Lock) verify(ctx context.Context) error {
	if err := l.Err(); err != nil {
		return err
	}
	if l.released {
		return fmt.Errorf("cannot use lock %s: it was released", l.id())
	}
	if err := l.expired(); err != nil {
		return l.setLost(err)
	}
	data, err := storage.ReadAll(ctx, l.r.be, l.name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return l.setLost(l.lostError("was removed by another process that judged it stale"))
	case err != nil:
		return fmt.Errorf("cannot check lock %s: %w", l.id(), err)
	case bytes.Equal(data, l.written):
		return nil
	case l.tried != nil && bytes.Equal(data, l.tried):
		// A write reported failed had landed after all.
		l.written, l.wroteAt, l.tried = l.tried, l.triedAt, nil
		return nil
	}
	return l.setLost(l.lostError("was overwritten by another process"))
}

// held is Check without reading the object: cheap enough to call before
// every deletion of a batch.
func (l *Lock) held() error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.Err(); err != nil {
		return err
	}
	if err := l.expired(); err != nil {
		return l.setLost(err)
	}
	return nil
}

// expired fails once the last write began more than holdFor ago, by the
// monotonic clock or the wall clock, whichever says longer (the monotonic
// clock stops while the machine sleeps).
func (l *Lock) expired() error {
	since := max(time.Since(l.wroteAt), time.Now().Round(0).Sub(l.wroteAt.Round(0)))
	if since <= l.r.timing.holdFor() {
		return nil
	}
	return l.lostError(fmt.Sprintf("was last written %s ago, so other processes may have judged it stale", roundAge(since)))
}

// refresh rewrites the lock every refresh interval (a tenth of it after a
// failure) until it is released or lost.
func (l *Lock) refresh(ctx context.Context) {
	defer l.wg.Done()
	t := time.NewTimer(l.r.timing.refresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-l.lost:
			return
		case <-t.C:
		}
		next := l.r.timing.refresh
		if err := l.rewrite(ctx); err != nil {
			next /= 10
		}
		t.Reset(next)
	}
}

// rewrite checks that the lock still stands, then writes it with the
// current time.
func (l *Lock) rewrite(ctx context.Context) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if l.released {
		return nil
	}
	if err := l.verify(ctx); err != nil {
		return err
	}
	return l.write(ctx)
}
