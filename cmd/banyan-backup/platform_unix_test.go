//go:build unix

package main

import (
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// flockExclusive takes the exclusive flock a BanyanDB server holds on its
// group lock file; closing fh releases it.
func flockExclusive(t *testing.T, fh *os.File) {
	t.Helper()
	if err := unix.Flock(int(fh.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
}

// sigstop freezes the process p, as a machine that hangs would.
func sigstop(_ *testing.T, p *os.Process) error { return p.Signal(syscall.SIGSTOP) }
