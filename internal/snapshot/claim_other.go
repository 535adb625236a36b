//go:build !unix

package snapshot

import "os"

// lockClaim cannot lock outside Unix: the claim file is written unlocked.
func lockClaim(*os.File) error { return nil }

// tryLockClaim cannot tell outside Unix whether a backup still holds the
// claim, so it says one does: nothing is removed.
func tryLockClaim(*os.File) (bool, error) { return false, nil }
