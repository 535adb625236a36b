//go:build unix

package repository

import (
	"errors"
	"syscall"
)

// processGone reports whether no process with this pid exists on this
// host: signal 0 probes it without touching it. A process of another user
// (EPERM) is alive.
func processGone(pid int) bool {
	err := syscall.Kill(pid, 0)
	return errors.Is(err, syscall.ESRCH)
}
