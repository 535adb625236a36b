//go:build linux

package repository

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// TestLockStaleRule judges locks as another process would see them, from
// this process: a lock is stale once it has not been refreshed for the
// timeout, and before that only when it is in this process's own pid space
// (host, boot and PID namespace) and its process no longer runs.
func TestLockStaleRule(t *testing.T) {
	r := newTestRepo(t, mem.New("t"), InitOptions{})
	space := currentPIDSpace()
	if !space.known() {
		t.Fatal("cannot read this process's boot id and PID namespace")
	}
	judge := r.newLockJudge()
	judge.now = t0
	dead := deadPID(t)
	lock := func(change func(*LockInfo)) LockInfo {
		info := selfLock(t0.Add(-time.Minute))
		change(&info)
		return info
	}
	tests := []struct {
		name      string
		info      LockInfo
		stale     bool
		reasonHas string
	}{
		{"same pid space, process runs", lock(func(*LockInfo) {}), false, "runs on this host"},
		{"same pid space, process gone", lock(func(l *LockInfo) { l.PID = dead }), true, "no longer runs"},
		{"same pid space, pid reused", lock(func(l *LockInfo) { l.PIDStart = space.start + 1 }), true, "another process"},
		{"another PID namespace, pid missing here", lock(func(l *LockInfo) { l.PID, l.PIDNamespace = dead, space.namespace+1 }), false, "another PID namespace"},
		{"another PID namespace, refreshed 29m ago", lock(func(l *LockInfo) {
			l.PID, l.PIDNamespace, l.Time = dead, space.namespace+1, t0.Add(-29*time.Minute)
		}), false, "another PID namespace"},
		{"another PID namespace, not refreshed for 31m", lock(func(l *LockInfo) {
			l.PID, l.PIDNamespace, l.Time = dead, space.namespace+1, t0.Add(-31*time.Minute)
		}), true, "not refreshed for 31m"},
		{"another boot, pid missing", lock(func(l *LockInfo) { l.PID, l.BootID = dead, "another-boot" }), false, "before it last booted"},
		{"another host, pid missing", lock(func(l *LockInfo) { l.PID, l.Hostname = dead, l.Hostname+"-elsewhere" }), false, "on host"},
		{"older version, pid missing", lock(func(l *LockInfo) { l.PID, l.BootID, l.PIDNamespace, l.PIDStart = dead, "", 0, 0 }), false, "records no PID namespace"},
		{"older version, not refreshed for 31m", lock(func(l *LockInfo) {
			l.PID, l.BootID, l.PIDNamespace, l.PIDStart, l.Time = dead, "", 0, 0, t0.Add(-31*time.Minute)
		}), true, "not refreshed"},
		{"same pid space, process runs, not refreshed for 31m", lock(func(l *LockInfo) { l.Time = t0.Add(-31 * time.Minute) }), true, "not refreshed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := judge.judge(tt.info)
			if v.stale != tt.stale || !strings.Contains(v.reason, tt.reasonHas) {
				t.Errorf("judged stale=%v (%s); want stale=%v, saying %q", v.stale, v.reason, tt.stale, tt.reasonHas)
			}
		})
	}
}

// TestPIDSpaceOfThisProcess: this process's /proc is its own: its entry
// names its pid, and its start time is read.
func TestPIDSpaceOfThisProcess(t *testing.T) {
	space := currentPIDSpace()
	start, ok := processStart(os.Getpid())
	if !space.known() || !ok || start != space.start || space.start == 0 {
		t.Errorf("pid space %+v, own start %d (%v): want known, with this process's start time", space, start, ok)
	}
	if _, ok := processStart(deadPID(t)); ok {
		t.Error("a reaped process has a start time")
	}
}

// TestPIDSpaceInOtherNamespaces runs this test binary in new PID
// namespaces: with its own /proc it has a known pid space, in another
// namespace than this process's; with the /proc of this namespace (where
// its pids mean other processes) its pid space is unknown, so that pids
// are never used to judge locks there.
func TestPIDSpaceInOtherNamespaces(t *testing.T) {
	if os.Getenv("BANYAN_BACKUP_PIDSPACE_CHILD") != "" {
		s := currentPIDSpace()
		fmt.Printf("known=%v ns=%d\n", s.known(), s.namespace)
		return
	}
	own := currentPIDSpace()
	for _, tt := range []struct {
		name  string
		flags []string
		want  string
	}{
		{"own /proc", []string{"--mount-proc"}, "known=true"},
		{"this namespace's /proc", nil, "known=false ns=0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append(append([]string{"--pid", "--fork"}, tt.flags...), os.Args[0], "-test.run=^TestPIDSpaceInOtherNamespaces$")
			cmd := exec.Command("unshare", args...)
			cmd.Env = append(os.Environ(), "BANYAN_BACKUP_PIDSPACE_CHILD=1")
			out, err := cmd.CombinedOutput()
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("cannot run in a new PID namespace (CI must): %v %s", err, out)
				}
				t.Skipf("cannot run in a new PID namespace: %v %s", err, out)
			}
			if !strings.Contains(string(out), tt.want) || strings.Contains(string(out), fmt.Sprintf("ns=%d\n", own.namespace)) {
				t.Errorf("child says %q; want %q, in another namespace than %d", out, tt.want, own.namespace)
			}
		})
	}
}
