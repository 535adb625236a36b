//go:build !linux

package repository

// currentPIDSpace cannot read a pid space on this platform: a lock's pid
// is then never used to judge it, only its age.
func currentPIDSpace() pidSpace { return pidSpace{} }

// processStart cannot read start times on this platform.
func processStart(int) (uint64, bool) { return 0, false }
