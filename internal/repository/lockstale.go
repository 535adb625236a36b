package repository

import (
	"fmt"
	"os"
	"time"
)

// Lock timing: a holder rewrites its lock every lockRefresh; a lock whose
// time is more than lockStale old is stale. A holder that has not rewritten
// its lock for half of lockStale takes it as lost (lockheld.go): others
// would judge it stale soon, and clocks may disagree by minutes.
const (
	lockRefresh = 5 * time.Minute
	lockStale   = 30 * time.Minute
)

// lockTiming is the repository's lock timing; tests of this package shorten it.
type lockTiming struct {
	refresh, stale time.Duration
}

// holdFor is how long a holder trusts its last write of the lock.
func (t lockTiming) holdFor() time.Duration { return t.stale / 2 }

// lockJudge judges locks from one process at one time.
type lockJudge struct {
	now   time.Time
	host  string
	space pidSpace
	stale time.Duration
}

func (r *Repository) newLockJudge() lockJudge {
	host, _ := os.Hostname()
	return lockJudge{now: r.clock(), host: host, space: currentPIDSpace(), stale: r.timing.stale}
}

// lockVerdict is what a judge made of one lock, and why, for messages.
type lockVerdict struct {
	stale  bool
	reason string
}

// judge decides whether a lock is stale. A lock is stale once it has not
// been refreshed for the stale timeout. The one exception is a holder in
// the judge's own pid space (same host name, boot id and PID namespace):
// there a pid that does not exist, or that now belongs to a process started
// later, proves the holder dead. Anywhere else, and for locks of older
// versions (no boot id or namespace), a missing pid proves nothing.
func (j lockJudge) judge(info LockInfo) lockVerdict {
	age := j.now.Sub(info.Time)
	if age > j.stale {
		return lockVerdict{true, fmt.Sprintf("not refreshed for %s (stale after %s)", roundAge(age), j.stale)}
	}
	if j.samePIDSpace(info) {
		if processGone(info.PID) {
			return lockVerdict{true, fmt.Sprintf("process %d no longer runs (same host, boot and PID namespace)", info.PID)}
		}
		if start, ok := processStart(info.PID); ok && info.PIDStart != 0 && start != info.PIDStart {
			return lockVerdict{true, fmt.Sprintf("process %d no longer runs (its pid now belongs to another process)", info.PID)}
		}
		return lockVerdict{false, fmt.Sprintf("process %d runs on this host", info.PID)}
	}
	return lockVerdict{false, fmt.Sprintf("taken %s; refreshed %s ago, stale if not refreshed by %s",
		j.where(info), roundAge(max(age, 0)), info.Time.Add(j.stale).UTC().Format(time.RFC3339))}
}

// samePIDSpace reports whether the lock's pid is one of the judge's pids.
func (j lockJudge) samePIDSpace(info LockInfo) bool {
	return info.PID > 0 && j.space.known() && info.Hostname == j.host &&
		info.BootID == j.space.bootID && info.PIDNamespace == j.space.namespace
}

// where says where the lock was taken, seen from the judge, and why its
// pid is not checked.
func (j lockJudge) where(info LockInfo) string {
	switch {
	case info.Hostname != j.host:
		return "on host " + info.Hostname + ", whose processes cannot be checked from here"
	case info.BootID == "" || info.PIDNamespace == 0:
		return "on this host by a version that records no PID namespace (an older one, or not on Linux), so its pid is not checked"
	case !j.space.known():
		return "on this host, but this process cannot read its own PID namespace, so the pid is not checked"
	case info.BootID != j.space.bootID:
		return "on this host before it last booted, or on another machine of the same name"
	case info.PID <= 0:
		return "on this host by an unknown process"
	default:
		return "in another PID namespace (container) of this host, whose processes cannot be checked from here"
	}
}

func roundAge(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}
