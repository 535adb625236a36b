package repository

import (
	"errors"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// openAt opens be as a second process would, with its clock at now.
func openAt(t *testing.T, be storage.Backend, now time.Time) *Repository {
	t.Helper()
	r, err := Open(t.Context(), be, Options{Clock: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

func mustLock(t *testing.T, r *Repository, op string, exclusive bool) *Lock {
	t.Helper()
	l, err := r.Lock(t.Context(), op, exclusive)
	if err != nil {
		t.Fatalf("Lock(%s, exclusive=%v): %v", op, exclusive, err)
	}
	t.Cleanup(func() { _ = l.Unlock(t.Context()) })
	return l
}

func TestLockObject(t *testing.T) {
	be := mem.New("t")
	newTestRepo(t, be, InitOptions{})
	r := openAt(t, be, t0)
	l := mustLock(t, r, "backup", false)
	locks := objects(t, be, "locks/")
	if len(locks) != 1 {
		t.Fatalf("locks %v, want one", locks)
	}
	var info LockInfo
	for name := range locks {
		if err := r.codec.openJSON(kindLock, getObject(t, be, name), &info); err != nil {
			t.Fatal(err)
		}
	}
	want := selfLock(t0)
	want.Operation = "backup"
	if !reflect.DeepEqual(info, want) {
		t.Errorf("lock %+v, want %+v", info, want)
	}
	if err := l.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := objects(t, be, "locks/"); len(got) != 0 {
		t.Errorf("locks after Unlock: %v", got)
	}
	if err := l.Unlock(t.Context()); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
}

func TestLockConflicts(t *testing.T) {
	tests := []struct {
		name          string
		firstExcl     bool
		secondExcl    bool
		wantConflicts bool
	}{
		{"shared then shared", false, false, false},
		{"shared then exclusive", false, true, true},
		{"exclusive then shared", true, false, true},
		{"exclusive then exclusive", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := mem.New("t")
			newTestRepo(t, be, InitOptions{})
			a, b := openAt(t, be, t0), openAt(t, be, t0.Add(time.Minute))
			first := mustLock(t, a, "backup", tt.firstExcl)
			l, err := b.Lock(t.Context(), "prune", tt.secondExcl)
			if !tt.wantConflicts {
				if err != nil {
					t.Fatalf("second lock refused: %v", err)
				}
				if n := len(objects(t, be, "locks/")); n != 2 {
					t.Errorf("%d lock objects, want 2", n)
				}
				_ = l.Unlock(t.Context())
				return
			}
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("second lock = %v, want ErrLocked", err)
			}
			if !strings.Contains(err.Error(), `"backup"`) {
				t.Errorf("message %q does not name the holder's operation", err)
			}
			if n := len(objects(t, be, "locks/")); n != 1 {
				t.Errorf("a refused lock left %d lock objects, want 1", n)
			}
			// Once the holder is gone the lock is granted.
			if err := first.Unlock(t.Context()); err != nil {
				t.Fatal(err)
			}
			mustLock(t, b, "prune", tt.secondExcl)
		})
	}
}

func TestStaleLockByTime(t *testing.T) {
	be := mem.New("t")
	newTestRepo(t, be, InitOptions{})
	holder := openAt(t, be, t0)
	held := mustLock(t, holder, "prune", true)
	shared := selfLock(t0)
	shared.Operation = "backup"
	putLock(t, holder, "shared", shared)

	// 29 minutes later the exclusive lock is still live; `unlock` keeps
	// both and says why.
	if _, err := openAt(t, be, t0.Add(29*time.Minute)).Lock(t.Context(), "backup", false); !errors.Is(err, ErrLocked) {
		t.Fatalf("lock after 29 minutes = %v, want ErrLocked", err)
	}
	res, err := openAt(t, be, t0.Add(29*time.Minute)).RemoveStaleLocks(t.Context())
	if err != nil || res.Removed != 0 || len(res.Locks) != 2 {
		t.Fatalf("RemoveStaleLocks after 29 minutes = %+v, %v; want 2 kept", res, err)
	}
	for _, l := range res.Locks {
		if l.Removed || !strings.Contains(l.Reason, "runs on this host") {
			t.Errorf("lock %+v: want kept, its process running", l)
		}
	}

	// After 31 minutes both are stale. A shared lock is granted, and
	// removes the stale exclusive lock it overrides, whose holder then
	// finds it gone; the stale shared lock is left for `unlock`.
	later := openAt(t, be, t0.Add(31*time.Minute))
	l := mustLock(t, later, "backup", false)
	if err := held.Check(t.Context()); !errors.Is(err, ErrLockLost) {
		t.Errorf("the overridden holder's Check = %v, want ErrLockLost", err)
	}
	if err := l.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, err = later.RemoveStaleLocks(t.Context())
	if err != nil || res.Removed != 1 || !strings.Contains(res.Locks[0].Reason, "not refreshed for 31m") {
		t.Fatalf("RemoveStaleLocks = %+v, %v; want the stale shared lock removed", res, err)
	}
	if got := objects(t, be, "locks/"); len(got) != 0 {
		t.Errorf("locks after RemoveStaleLocks: %v", got)
	}
	mustLock(t, later, "prune", true)
}

// selfLock is a lock this process would write at time at.
func selfLock(at time.Time) LockInfo {
	host, _ := os.Hostname()
	s := currentPIDSpace()
	return LockInfo{Hostname: host, PID: os.Getpid(), BootID: s.bootID, PIDNamespace: s.namespace, PIDStart: s.start, Time: at}
}

// putLock writes a lock object by hand, as another process would.
func putLock(t *testing.T, r *Repository, name string, info LockInfo) {
	t.Helper()
	data, err := r.codec.sealJSON(kindLock, info)
	if err != nil {
		t.Fatal(err)
	}
	putObject(t, r.Backend(), "locks/"+name, data)
}

// deadPID returns the pid of a process that has exited and been reaped.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("cannot run a child process: %v", err)
	}
	return cmd.Process.Pid
}

func TestStaleLockDeadProcess(t *testing.T) {
	be := mem.New("t")
	newTestRepo(t, be, InitOptions{})
	r := reopen(t, be)
	if !currentPIDSpace().known() && runtime.GOOS == "linux" {
		t.Fatal("cannot read this process's pid space")
	}
	dead := selfLock(r.Now().UTC())
	dead.PID, dead.Exclusive, dead.Operation = deadPID(t), true, "prune"
	if !currentPIDSpace().known() {
		dead.Time = r.Now().Add(-time.Hour) // stale by age where pids prove nothing
	}
	putLock(t, r, "dead", dead)
	// A fresh lock from another host cannot be checked for a dead process
	// here: it is live.
	remote := dead
	remote.Hostname, remote.Exclusive, remote.Operation, remote.Time = dead.Hostname+"-elsewhere", false, "backup", r.Now().UTC()
	putLock(t, r, "remote", remote)
	// An unreadable lock is ignored by Lock and removed as stale.
	putObject(t, be, "locks/garbage", []byte("not a lock"))

	// Taking a shared lock removes the dead process's exclusive lock.
	l := mustLock(t, r, "backup", false)
	if _, ok := objects(t, be, "locks/")["locks/dead"]; ok {
		t.Error("the dead process's exclusive lock was not removed by the lock that overrode it")
	}
	if _, err := r.Lock(t.Context(), "prune", true); !errors.Is(err, ErrLocked) {
		t.Errorf("exclusive lock beside a live remote shared lock = %v, want ErrLocked", err)
	}
	if err := l.Unlock(t.Context()); err != nil {
		t.Fatal(err)
	}
	res, err := r.RemoveStaleLocks(t.Context())
	if err != nil || res.Removed != 1 {
		t.Errorf("RemoveStaleLocks = %+v, %v; want the unreadable lock removed", res, err)
	}
	got := objects(t, be, "locks/")
	if _, ok := got["locks/remote"]; len(got) != 1 || !ok {
		t.Errorf("locks left %v, want only the remote one", got)
	}
}

func TestLockOwnProcessIsLive(t *testing.T) {
	be := mem.New("t")
	newTestRepo(t, be, InitOptions{})
	r := reopen(t, be)
	mine := selfLock(r.Now().UTC())
	mine.Exclusive, mine.Operation = true, "forget"
	putLock(t, r, "mine", mine)
	if _, err := r.Lock(t.Context(), "backup", false); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "forget") {
		t.Errorf("Lock beside a live exclusive lock = %v, want ErrLocked naming forget", err)
	}
	if res, err := r.RemoveStaleLocks(t.Context()); err != nil || res.Removed != 0 {
		t.Errorf("RemoveStaleLocks = %+v, %v; want 0 removed", res, err)
	}
}

// TestLockMessageArticle checks the refusal reads "a shared lock" and "an
// exclusive lock".
func TestLockMessageArticle(t *testing.T) {
	for _, tt := range []struct {
		holderExcl bool
		want       string
	}{{false, "holds a shared lock"}, {true, "holds an exclusive lock"}} {
		be := mem.New("t")
		newTestRepo(t, be, InitOptions{})
		mustLock(t, openAt(t, be, t0), "backup", tt.holderExcl)
		_, err := openAt(t, be, t0).Lock(t.Context(), "prune", true)
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Lock = %v, want ErrLocked saying %q", err, tt.want)
		}
	}
}
