// Package progresstest has progress reporters for tests.
package progresstest

import (
	"context"
	"sync/atomic"
)

// CancelAfter is a progress.Reporter that calls Cancel once N items are
// done: a way to stop a backup or restore midway in a test.
type CancelAfter struct {
	N      int64
	Cancel context.CancelFunc
	seen   atomic.Int64
}

// Start implements progress.Reporter.
func (c *CancelAfter) Start(string, int64, int64) {}

// Done implements progress.Reporter.
func (c *CancelAfter) Done() {}

// Advance implements progress.Reporter.
func (c *CancelAfter) Advance(items, _ int64) {
	if c.seen.Add(items) >= c.N {
		c.Cancel()
	}
}
