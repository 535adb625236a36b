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
	// Warnings are what went wrong without failing the run.
	Warnings []string `json:"warnings,omitempty"`
}

// PhaseTime is when a phase started and how long it took.
type PhaseTime struct {
	Name    string    `json:"name"`
	Start   time.Time `json:"start"`
	Seconds float64   `json:"seconds"`
}
