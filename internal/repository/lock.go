package repository

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Lock timing: holders refresh every lockRefresh; a lock older than
// lockStale is taken as left by a dead process.
const (
	lockRefresh = 5 * time.Minute
	lockStale   = 30 * time.Minute
)

// LockInfo is the content of a `locks/<id>` object.
type LockInfo struct {
	Exclusive bool      `json:"exclusive"`
	Hostname  string    `json:"hostname"`
	PID       int       `json:"pid"`
	Time      time.Time `json:"time"`
	Operation string    `json:"operation"`
	// Packs lists packs its holder is storing or has stored that no index
	// file of its names yet (recover.go): written before each pack is
	// stored, so that after the holder is killed the next backup adopts
	// exactly these packs and no one else's.
	Packs []ID `json:"packs,omitempty"`
}

// Lock is a held repository lock.
type Lock struct {
	r      *Repository
	name   string
	info   LockInfo
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool

	// writeMu orders the writes of info (refreshes and recorded packs)
	// and stops them once the lock is being released.
	writeMu  sync.Mutex
	released bool
}

// tryLock takes a shared (exclusive=false) or exclusive lock for
// operation, or fails with ErrLocked at once (Lock waits and retries).
func (r *Repository) tryLock(ctx context.Context, operation string, exclusive bool) (*Lock, error) {
	host, _ := os.Hostname()
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("cannot create lock id: %w", err)
	}
	l := &Lock{r: r, name: "locks/" + hex.EncodeToString(rnd[:]), stop: make(chan struct{}),
		info: LockInfo{Exclusive: exclusive, Hostname: host, PID: os.Getpid(), Time: r.clock().UTC(), Operation: operation}}
	if err := r.checkLocks(ctx, l); err != nil {
		return nil, err
	}
	if err := l.write(ctx); err != nil {
		return nil, err
	}
	if err := r.checkLocks(ctx, l); err != nil {
		_ = r.be.Delete(context.WithoutCancel(ctx), l.name)
		return nil, err
	}
	l.wg.Add(1)
	go l.refresh(context.WithoutCancel(ctx))
	return l, nil
}

// write stores info as the lock's content; the caller holds writeMu, or
// is the only one with the lock.
func (l *Lock) write(ctx context.Context) error {
	data, err := l.r.codec.sealJSON(kindLock, l.info)
	if err != nil {
		return err
	}
	if err := l.r.be.Put(ctx, l.name, int64(len(data)), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("cannot write lock to %s: %w", l.r.be.Location(), err)
	}
	return nil
}

func (l *Lock) refresh(ctx context.Context) {
	defer l.wg.Done()
	t := time.NewTicker(lockRefresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.writeMu.Lock()
			if !l.released {
				l.info.Time = l.r.clock().UTC()
				_ = l.write(ctx) // a failed refresh shows as staleness later
			}
			l.writeMu.Unlock()
		}
	}
}

// Unlock releases the lock.
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	close(l.stop)
	l.wg.Wait()
	l.writeMu.Lock()
	l.released = true
	l.writeMu.Unlock()
	if err := l.r.be.Delete(context.WithoutCancel(ctx), l.name); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("cannot remove lock %s: %w", l.name, err)
	}
	return nil
}

// recordPack adds a pack about to be stored to the lock's list of packs
// that no index names yet, forgetting those an index now names, and
// rewrites the lock before returning: if the holder dies once the pack is
// stored, the lock says so (recover.go).
func (l *Lock) recordPack(ctx context.Context, id ID) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if l.released {
		return fmt.Errorf("cannot store pack %s: the repository lock was released", id.Short())
	}
	kept := l.info.Packs[:0]
	for _, p := range l.info.Packs {
		if _, ok := l.r.index.PackSize(p); !ok {
			kept = append(kept, p)
		}
	}
	l.info.Packs = append(kept, id)
	if err := l.write(ctx); err != nil {
		return fmt.Errorf("cannot record pack %s in the lock: %w", id.Short(), err)
	}
	return nil
}

// Check fails unless the lock object still exists: a lock that a prune or
// `unlock` in another process judged stale and removed no longer protects
// what its holder stored, so nothing may be committed under it.
func (l *Lock) Check(ctx context.Context) error {
	if _, err := l.r.be.Stat(ctx, l.name); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: lock %s of this %s was removed by another process that judged it stale; nothing was committed: run the command again",
				ErrLockLost, strings.TrimPrefix(l.name, "locks/"), l.info.Operation)
		}
		return fmt.Errorf("cannot check lock %s: %w", strings.TrimPrefix(l.name, "locks/"), err)
	}
	return nil
}

// checkLocks fails when a live lock conflicts with own.
func (r *Repository) checkLocks(ctx context.Context, own *Lock) error {
	var names []string
	err := r.be.List(ctx, "locks/", func(o storage.ObjectInfo) error {
		if o.Name != own.name {
			names = append(names, o.Name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot list locks in %s: %w", r.be.Location(), err)
	}
	for _, name := range names {
		data, err := storage.ReadAll(ctx, r.be, name)
		if errors.Is(err, storage.ErrNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return fmt.Errorf("cannot read lock %s: %w", name, err)
		}
		var info LockInfo
		if err := r.codec.openJSON(kindLock, data, &info); err != nil {
			continue // unreadable lock: not ours to judge; prune's unlock removes it
		}
		if r.lockIsStale(info) || (!info.Exclusive && !own.info.Exclusive) {
			continue
		}
		return fmt.Errorf("%w: %s holds %s lock for %q since %s (pid %d on %s); wait for it to finish, or if that process is gone run `banyan-backup unlock`",
			ErrLocked, r.be.Location(), lockKind(info.Exclusive), info.Operation, info.Time.Format(time.RFC3339), info.PID, info.Hostname)
	}
	return nil
}

func lockKind(exclusive bool) string {
	if exclusive {
		return "an exclusive"
	}
	return "a shared"
}

func (r *Repository) lockIsStale(info LockInfo) bool {
	if r.clock().Sub(info.Time) > lockStale {
		return true
	}
	host, _ := os.Hostname()
	if info.Hostname == host && info.PID > 0 {
		return processGone(info.PID)
	}
	return false
}

// RemoveStaleLocks deletes locks whose holders are gone and returns how many.
func (r *Repository) RemoveStaleLocks(ctx context.Context) (int, error) {
	var stale []string
	err := r.be.List(ctx, "locks/", func(o storage.ObjectInfo) error {
		data, err := storage.ReadAll(ctx, r.be, o.Name)
		if err != nil {
			return nil
		}
		var info LockInfo
		if err := r.codec.openJSON(kindLock, data, &info); err != nil || r.lockIsStale(info) {
			stale = append(stale, o.Name)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("cannot list locks in %s: %w", r.be.Location(), err)
	}
	for _, name := range stale {
		if err := r.be.Delete(ctx, name); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return 0, fmt.Errorf("cannot remove lock %s: %w", strings.TrimPrefix(name, "locks/"), err)
		}
	}
	return len(stale), nil
}
