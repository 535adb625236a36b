//go:build !linux

package main

import "testing"

// fastDir is a temporary directory.
func fastDir(t *testing.T) string { return t.TempDir() }
