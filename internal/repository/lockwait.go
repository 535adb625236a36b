package repository

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Lock waiting: the first retry comes after lockRetryMin, then the delay
// doubles up to lockRetryMax, with jitter so that two waiters do not retry
// in step.
const (
	lockRetryMin = 100 * time.Millisecond
	lockRetryMax = 5 * time.Second
)

// Lock takes a shared (exclusive=false) or exclusive lock for operation.
// While a conflicting lock is held it retries for up to Options.LockWait
// (real time, not the repository clock), then fails with ErrLocked.
//
// Once the lock is held, the in-memory index is brought up to date with the
// index files: a prune that ran between Open and Lock (or while Lock waited)
// may have rewritten them, and a backup must not rely on blobs prune
// deleted.
func (r *Repository) Lock(ctx context.Context, operation string, exclusive bool) (*Lock, error) {
	start := time.Now()
	delay := lockRetryMin
	for {
		l, err := r.tryLock(ctx, operation, exclusive)
		if err == nil {
			if err := r.refreshIndex(ctx); err != nil {
				_ = l.Unlock(ctx)
				return nil, err
			}
			return l, nil
		}
		waited := time.Since(start)
		if !errors.Is(err, ErrLocked) || r.opts.LockWait <= 0 {
			return nil, err
		}
		if waited >= r.opts.LockWait {
			return nil, fmt.Errorf("%w (gave up after waiting %s)", err, waited.Round(time.Second))
		}
		if r.opts.OnLockWait != nil {
			r.opts.OnLockWait(err)
		}
		sleep := min(delay/2+rand.N(delay/2+1), r.opts.LockWait-waited)
		t := time.NewTimer(sleep)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, lockRetryMax)
	}
}

// refreshIndex reloads the index when the index files differ from those
// loaded (prune replaced some, or another backup added some).
func (r *Repository) refreshIndex(ctx context.Context) error {
	names, err := r.indexFileIDs(ctx)
	if err != nil {
		return err
	}
	r.index.mu.RLock()
	same := len(names) == len(r.index.files)
	if same {
		loaded := make(map[ID]struct{}, len(r.index.files))
		for _, id := range r.index.files {
			loaded[id] = struct{}{}
		}
		for _, id := range names {
			if _, ok := loaded[id]; !ok {
				same = false
				break
			}
		}
	}
	r.index.mu.RUnlock()
	if same {
		return nil
	}
	return r.reloadIndex(ctx)
}

// reloadIndex reads every index file into a fresh index and swaps it in.
func (r *Repository) reloadIndex(ctx context.Context) error {
	fresh := newIndex()
	err := r.eachIndexFile(ctx, func(id ID, f indexFile) error {
		for _, p := range f.Packs {
			fresh.addPack(p)
		}
		fresh.files = append(fresh.files, id)
		return nil
	})
	if err != nil {
		return err
	}
	x := r.index
	x.mu.Lock()
	x.blobs, x.packs, x.files = fresh.blobs, fresh.packs, fresh.files
	x.mu.Unlock()
	return nil
}

// indexFileIDs lists the ids of the index files.
func (r *Repository) indexFileIDs(ctx context.Context) ([]ID, error) {
	var ids []ID
	err := r.be.List(ctx, "index/", func(o storage.ObjectInfo) error {
		if id, err := ParseID(strings.TrimPrefix(o.Name, "index/")); err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list index files in %s: %w", r.be.Location(), err)
	}
	r.dropStale("index", ids)
	return ids, nil
}

// eachIndexFile reads, checks and decodes the index files one at a time,
// so that memory holds one index file at once.
func (r *Repository) eachIndexFile(ctx context.Context, fn func(ID, indexFile) error) error {
	ids, err := r.indexFileIDs(ctx)
	if err != nil {
		return err
	}
	for _, id := range ids {
		data, err := r.readObject(ctx, "index", id)
		if isNotFound(err) {
			continue // replaced meanwhile by a prune (only possible without a lock)
		}
		if errors.Is(err, ErrIntegrity) {
			return err
		}
		if err != nil {
			return fmt.Errorf("cannot read index file %s: %w", id.Short(), err)
		}
		f, err := r.codec.openIndex(data)
		if err != nil {
			return fmt.Errorf("cannot read index file %s: %w", id.Short(), err)
		}
		if err := fn(id, f); err != nil {
			return err
		}
	}
	return nil
}
