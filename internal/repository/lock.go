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

// LockInfo is the content of a `locks/<id>` object.
type LockInfo struct {
	Exclusive bool   `json:"exclusive"`
	Hostname  string `json:"hostname"`
	PID       int    `json:"pid"`
	// BootID, PIDNamespace and PIDStart say which pid space PID belongs
	// to and which process it was (pidspace.go): the kernel's boot id, the
	// inode of the PID namespace and the process's start time in clock
	// ticks since boot. Empty on platforms other than Linux and in locks of
	// older versions: their pid is then never used to judge them.
	BootID       string `json:"boot_id,omitempty"`
	PIDNamespace uint64 `json:"pid_ns,omitempty"`
	PIDStart     uint64 `json:"pid_start,omitempty"`
	// Time is when the holder last wrote the lock.
	Time      time.Time `json:"time"`
	Operation string    `json:"operation"`
	// Packs lists packs its holder is storing or has stored that no index
	// file of its names yet (recover.go): written before each pack is
	// stored, so that after the holder is killed the next backup adopts
	// exactly these packs and no one else's.
	Packs []ID `json:"packs,omitempty"`
}

// Lock is a held repository lock. While held, it is rewritten every
// refresh interval, each time after checking that the object still holds
// what this process last wrote; once it does not, or once it has not been
// written for too long, the lock is lost (lockheld.go).
type Lock struct {
	r      *Repository
	name   string
	stop   chan struct{}
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool

	// writeMu orders the writes and checks of the lock object and guards
	// the fields below; released stops the writes once the lock is being
	// released.
	writeMu  sync.Mutex
	info     LockInfo
	written  []byte    // the object as last written
	wroteAt  time.Time // when that write began (wall and monotonic)
	tried    []byte    // a write that failed, and may yet have landed
	triedAt  time.Time
	released bool

	lostMu  sync.Mutex
	lost    chan struct{} // closed once lostErr is set
	lostErr error
}

// TryLock is Lock without the wait: it fails with ErrLocked at once while
// a conflicting lock is held, whatever Options.LockWait says, for work
// worth doing only when nobody else holds a lock. Once the lock is held
// the in-memory index is brought up to date, as by Lock.
func (r *Repository) TryLock(ctx context.Context, operation string, exclusive bool) (*Lock, error) {
	l, err := r.tryLock(ctx, operation, exclusive)
	if err != nil {
		return nil, err
	}
	if err := r.refreshIndex(ctx); err != nil {
		_ = l.Unlock(ctx)
		return nil, err
	}
	return l, nil
}

// tryLock takes a shared (exclusive=false) or exclusive lock for
// operation, or fails with ErrLocked at once (Lock waits and retries).
func (r *Repository) tryLock(ctx context.Context, operation string, exclusive bool) (*Lock, error) {
	host, _ := os.Hostname()
	space := currentPIDSpace()
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("cannot create lock id: %w", err)
	}
	l := &Lock{r: r, name: "locks/" + hex.EncodeToString(rnd[:]), stop: make(chan struct{}), lost: make(chan struct{}),
		info: LockInfo{Exclusive: exclusive, Hostname: host, PID: os.Getpid(), Operation: operation,
			BootID: space.bootID, PIDNamespace: space.namespace, PIDStart: space.start}}
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

// id is the lock's name without its directory.
func (l *Lock) id() string { return strings.TrimPrefix(l.name, "locks/") }

// write stamps info with the time and stores it as the lock's content;
// the caller holds writeMu, or is the only one with the lock.
func (l *Lock) write(ctx context.Context) error {
	l.info.Time = l.r.clock().UTC()
	data, err := l.r.codec.sealJSON(kindLock, l.info)
	if err != nil {
		return err
	}
	began := time.Now()
	if err := l.r.be.Put(ctx, l.name, int64(len(data)), bytes.NewReader(data)); err != nil {
		l.tried, l.triedAt = data, began
		return fmt.Errorf("cannot write lock to %s: %w", l.r.be.Location(), err)
	}
	l.written, l.wroteAt, l.tried = data, began, nil
	return nil
}

// Unlock releases the lock. A lost lock is left as it is: it is another
// process's now, or gone, or stale (its packs are adopted by the next
// backup, as a killed backup's are).
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
	if l.Err() != nil {
		return nil
	}
	if err := l.r.be.Delete(context.WithoutCancel(ctx), l.name); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("cannot remove lock %s: %w", l.id(), err)
	}
	return nil
}

// recordPack adds a pack about to be stored to the lock's list of packs
// that no index names yet, forgetting those an index now names, and
// rewrites the lock before returning: if the holder dies once the pack is
// stored, the lock says so (recover.go). It fails once the lock is lost.
func (l *Lock) recordPack(ctx context.Context, id ID) error {
	l.writeMu.Lock()
	defer l.writeMu.Unlock()
	if err := l.verify(ctx); err != nil {
		return fmt.Errorf("cannot store pack %s: %w", id.Short(), err)
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

// checkLocks fails when a live lock conflicts with own. A stale lock that
// conflicts is removed, so that its holder, should it still run, finds
// its lock gone and stops (lockheld.go); stale locks that do not conflict
// are left for `unlock` (a backup adopts their packs first).
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
	judge := r.newLockJudge()
	for _, name := range names {
		info, err := r.readLock(ctx, name)
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errUnreadableLock) {
			continue // released meanwhile, or unreadable: not ours to judge; `unlock` removes it
		}
		if err != nil {
			return err
		}
		if !info.Exclusive && !own.info.Exclusive {
			continue
		}
		v := judge.judge(info)
		if v.stale {
			if err := r.be.Delete(ctx, name); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("cannot remove stale lock %s: %w", strings.TrimPrefix(name, "locks/"), err)
			}
			continue
		}
		return fmt.Errorf("%w: %s holds %s lock for %q (pid %d on %s), which is live: %s; wait for it to finish (--lock-wait), or if that process is gone run `banyan-backup unlock` once the lock is stale",
			ErrLocked, r.be.Location(), lockKind(info.Exclusive), info.Operation, info.PID, info.Hostname, v.reason)
	}
	return nil
}

// readLock reads and decodes the lock object name; an object that is not
// a lock fails with errUnreadableLock.
func (r *Repository) readLock(ctx context.Context, name string) (LockInfo, error) {
	var info LockInfo
	data, err := storage.ReadAll(ctx, r.be, name)
	if errors.Is(err, storage.ErrNotFound) {
		return info, err
	}
	if err != nil {
		return info, fmt.Errorf("cannot read lock %s: %w", strings.TrimPrefix(name, "locks/"), err)
	}
	if err := r.codec.openJSON(kindLock, data, &info); err != nil {
		return info, fmt.Errorf("%w: %v", errUnreadableLock, err)
	}
	return info, nil
}

// errUnreadableLock: an object under locks/ that is not a lock this
// release can read; `unlock` removes it, nothing else judges it.
var errUnreadableLock = errors.New("not a readable lock")

func lockKind(exclusive bool) string {
	if exclusive {
		return "an exclusive"
	}
	return "a shared"
}
