package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// fastLock takes a lock on a fresh repository whose locks refresh every
// 10 ms, and returns it with the repository.
func fastLock(t *testing.T, op string) (*Repository, *Lock) {
	t.Helper()
	be := mem.New("t")
	newTestRepo(t, be, smallPacks)
	r := reopen(t, be)
	r.timing.refresh = 10 * time.Millisecond
	return r, mustLock(t, r, op, false)
}

// waitLost waits (a minute at most) until the lock's refresh finds it lost.
func waitLost(t *testing.T, l *Lock) {
	t.Helper()
	select {
	case <-l.Lost():
	case <-time.After(time.Minute):
		t.Fatal("the lock's refresh did not find it lost within a minute")
	}
}

// TestLockRefreshes: a held lock is rewritten with a new time.
func TestLockRefreshes(t *testing.T) {
	r, l := fastLock(t, "backup")
	first := getObject(t, r.Backend(), l.name)
	deadline := time.Now().Add(time.Minute)
	for string(getObject(t, r.Backend(), l.name)) == string(first) {
		if time.Now().After(deadline) {
			t.Fatal("the lock was not rewritten within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := l.Check(t.Context()); err != nil {
		t.Errorf("Check of a refreshed lock: %v", err)
	}
}

// TestLockLost: a lock removed by another process, or overwritten, is lost:
// its refresh finds it, cancels the lock's context, and never writes it
// again; recording a pack and Check then fail with ErrLockLost. So does a
// lock not written for half the stale timeout (others may judge it stale
// by then), found by Check alone. A lost lock is left as it is by Unlock.
func TestLockLost(t *testing.T) {
	tests := []struct {
		name     string
		lose     func(t *testing.T, l *Lock)
		byCheck  bool // found by Check, not by the refresh
		says     string
		leftWith bool // the lock object stays
	}{
		{"removed", func(t *testing.T, l *Lock) {
			if err := l.r.Backend().Delete(t.Context(), l.name); err != nil {
				t.Fatal(err)
			}
		}, false, "was removed by another process", false},
		{"overwritten", func(t *testing.T, l *Lock) {
			other := selfLock(time.Now().UTC())
			other.Operation = "prune"
			putLock(t, l.r, strings.TrimPrefix(l.name, "locks/"), other)
		}, false, "was overwritten", true},
		{"not written for 16 minutes", func(t *testing.T, l *Lock) {
			l.writeMu.Lock()
			l.wroteAt = l.wroteAt.Add(-16 * time.Minute)
			l.writeMu.Unlock()
		}, true, "was last written 16m", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, l := fastLock(t, "backup")
			ctx, cancel := l.Context(t.Context())
			defer cancel()
			tt.lose(t, l)
			if tt.byCheck {
				if err := l.Check(t.Context()); !errors.Is(err, ErrLockLost) {
					t.Fatalf("Check = %v, want ErrLockLost", err)
				}
			}
			waitLost(t, l)
			<-ctx.Done()
			if cause := context.Cause(ctx); !errors.Is(cause, ErrLockLost) || !strings.Contains(cause.Error(), tt.says) {
				t.Errorf("the lock's context ended with %v, want ErrLockLost saying %q", cause, tt.says)
			}
			before := objects(t, r.Backend(), "locks/")
			if err := l.recordPack(t.Context(), Hash([]byte("a pack"))); !errors.Is(err, ErrLockLost) {
				t.Errorf("recordPack after the loss = %v, want ErrLockLost", err)
			}
			if err := l.Check(t.Context()); !errors.Is(err, ErrLockLost) {
				t.Errorf("Check after the loss = %v, want ErrLockLost", err)
			}
			if err := l.Unlock(t.Context()); err != nil {
				t.Errorf("Unlock of a lost lock: %v", err)
			}
			after := objects(t, r.Backend(), "locks/")
			if len(after) != len(before) || (len(after) == 1) != tt.leftWith {
				t.Errorf("locks %v after the loss, %v after recordPack and Unlock; want the object left: %v", before, after, tt.leftWith)
			}
		})
	}
}

// TestLockWriteThatLanded: a write reported failed that landed after all
// (a timeout after the store took it) is not taken for another writer's.
func TestLockWriteThatLanded(t *testing.T) {
	be := mem.New("t")
	newTestRepo(t, be, smallPacks)
	r := reopen(t, be)
	l := mustLock(t, r, "backup", false)
	l.writeMu.Lock()
	l.info.Operation = "backup (rewritten)"
	data, err := r.codec.sealJSON(kindLock, l.info)
	if err != nil {
		t.Fatal(err)
	}
	l.tried, l.triedAt = data, time.Now()
	l.writeMu.Unlock()
	putObject(t, r.Backend(), l.name, data)
	if err := l.Check(t.Context()); err != nil {
		t.Errorf("Check after a write that landed: %v", err)
	}
}

// expireAfter is a progress reporter whose n-th Advance makes lock look
// not written for 16 minutes, as if the process had been frozen.
type expireAfter struct {
	lock *Lock
	n    int
}

func (e *expireAfter) Start(string, int64, int64) {}
func (e *expireAfter) Done()                      {}
func (e *expireAfter) Advance(int64, int64) {
	if e.n--; e.n == 0 {
		e.lock.writeMu.Lock()
		e.lock.wroteAt = e.lock.wroteAt.Add(-16 * time.Minute)
		e.lock.writeMu.Unlock()
	}
}

// TestDeletionsStopOnceTheLockIsLost: prune's deletions check the lock
// before each one, not only at the start of a batch.
func TestDeletionsStopOnceTheLockIsLost(t *testing.T) {
	be := mem.New("t")
	newTestRepo(t, be, smallPacks)
	r := reopen(t, be)
	l := mustLock(t, r, "prune", true)
	var names []string
	for i := range 10 {
		name := fmt.Sprintf("x/%02d", i)
		putObject(t, be, name, []byte("x"))
		names = append(names, name)
	}
	n, err := r.deleteObjects(t.Context(), l, names, "delete", &expireAfter{lock: l, n: 3})
	if n != 3 || !errors.Is(err, ErrLockLost) {
		t.Errorf("deleteObjects = %d, %v; want 3 deleted, then ErrLockLost", n, err)
	}
	if left := objects(t, be, "x/"); len(left) != 7 {
		t.Errorf("%d objects left, want 7", len(left))
	}
}

// TestForgetStopsWhenItsLockIsLost: forget deletes no manifest under a
// lost lock.
func TestForgetStopsWhenItsLockIsLost(t *testing.T) {
	be := mem.New("t")
	newTestRepo(t, be, smallPacks)
	r := reopen(t, be)
	l := mustLock(t, r, "forget", true)
	putObject(t, be, "manifests/"+Hash([]byte("m")).String(), []byte("m"))
	if err := be.Delete(t.Context(), l.name); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveBackups(t.Context(), l, []ID{Hash([]byte("m"))}); !errors.Is(err, ErrLockLost) {
		t.Errorf("RemoveBackups under a removed lock = %v, want ErrLockLost", err)
	}
	if n := len(objects(t, be, "manifests/")); n != 1 {
		t.Errorf("%d manifests left, want 1", n)
	}
}
