// Package progress defines how long-running library work reports progress.
// Library code calls a Reporter; only the CLI prints.
package progress

// Reporter receives progress events. Implementations must be safe for
// concurrent use.
type Reporter interface {
	// Start announces a phase with its expected totals (0 if unknown).
	Start(phase string, items, bytes int64)
	// Advance adds done items and bytes to the current phase.
	Advance(items, bytes int64)
	// Done ends the current phase.
	Done()
}

// Nop is a Reporter that ignores everything.
type Nop struct{}

// Start implements Reporter.
func (Nop) Start(string, int64, int64) {}

// Advance implements Reporter.
func (Nop) Advance(int64, int64) {}

// Done implements Reporter.
func (Nop) Done() {}

// OrNop returns r, or Nop when r is nil.
func OrNop(r Reporter) Reporter {
	if r == nil {
		return Nop{}
	}
	return r
}
