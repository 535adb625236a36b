//go:build !unix

package backup_test

import (
	"os"
	"testing"
)

// flockExclusive skips the test: BanyanDB's group locks are flocks, which
// this platform does not have.
func flockExclusive(t *testing.T, _ *os.File) {
	t.Skip("flock: Unix only")
}
