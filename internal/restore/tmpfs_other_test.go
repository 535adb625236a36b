//go:build !linux

package restore_test

import "testing"

// fastDir is a temporary directory.
func fastDir(t *testing.T) string { return t.TempDir() }
