//go:build !unix

package main

import (
	"os"
	"testing"
)

// flockExclusive skips the test: BanyanDB's group locks are flocks, which
// this platform does not have.
func flockExclusive(t *testing.T, _ *os.File) {
	t.Skip("flock: Unix only")
}

// sigstop skips the test: this platform cannot freeze a process.
func sigstop(t *testing.T, _ *os.Process) error {
	t.Skip("SIGSTOP: Unix only")
	return nil
}
