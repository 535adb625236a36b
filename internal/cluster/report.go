package cluster

import (
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Report is what a run did: the set it wrote (nil when it failed), and
// how long each phase took.
type Report struct {
	// ID is the set's id; "" when no set was written.
	ID string `json:"id,omitempty"`
	// Operation is the run's operation id, which every member backup
	// records.
	Operation string          `json:"operation"`
	Set       *repository.Set `json:"set,omitempty"`
	// WindowSeconds is the width of the set's window.
	WindowSeconds float64     `json:"window_seconds"`
	Phases        []PhaseTime `json:"phases"`
	// Duplicates is what the run's prune of second copies did; nil when it
	// did not run (DuplicatesKeep, or the repository was locked).
	Duplicates *DuplicatesReport `json:"duplicates,omitempty"`
	// Warnings are what went wrong without failing the run.
	Warnings []string `json:"warnings,omitempty"`
}

// DuplicatesReport counts the second copies a run deleted.
type DuplicatesReport struct {
	PacksDeleted int   `json:"packs_deleted"`
	PacksWritten int   `json:"packs_written"`
	BytesFreed   int64 `json:"bytes_freed"`
	// PacksLeft are packs holding second copies among blobs in use, left
	// for the next prune by the bound on what a run moves.
	PacksLeft int `json:"packs_left"`
}

// PhaseTime is when a phase started and how long it took.
type PhaseTime struct {
	Name    string    `json:"name"`
	Start   time.Time `json:"start"`
	Seconds float64   `json:"seconds"`
}
