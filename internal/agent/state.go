package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// stateFile is the operation's state in the state directory.
const stateFile = "operation.json"

// savedState is what the state file holds: enough to delete a killed
// agent's snapshot when it starts again.
type savedState struct {
	Operation string          `json:"operation"`
	Phase     string          `json:"phase"`
	Snapshots []TakenSnapshot `json:"snapshots,omitempty"`
}

// saveState writes op's state (atomically: a temporary file, synced, then
// renamed).
func (s *Server) saveState(op *operation) error {
	st := savedState{Operation: op.status.ID, Phase: op.status.Phase}
	for _, t := range op.taken {
		if t.Name != "" {
			st.Snapshots = append(st.Snapshots, TakenSnapshot{Catalog: string(t.Catalog), Name: t.Name})
		}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("cannot save operation state: %w", err)
	}
	if err := os.MkdirAll(s.opts.StateDir, 0o700); err != nil {
		return fmt.Errorf("cannot save operation state: %w", err)
	}
	path := filepath.Join(s.opts.StateDir, stateFile)
	f, err := os.CreateTemp(s.opts.StateDir, ".operation-*")
	if err != nil {
		return fmt.Errorf("cannot save operation state: %w", err)
	}
	_, werr := f.Write(b)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cannot save operation state: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("cannot save operation state: %w", err)
	}
	return nil
}

// removeState deletes the state file.
func (s *Server) removeState() error {
	err := os.Remove(filepath.Join(s.opts.StateDir, stateFile))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cannot remove operation state: %w", err)
	}
	return nil
}

// recover deletes the snapshots the state file of an agent that was
// killed names, then the file.
func (s *Server) recover(context.Context) error {
	b, err := os.ReadFile(filepath.Join(s.opts.StateDir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot read operation state: %w", err)
	}
	var st savedState
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("cannot read operation state %s: %w", filepath.Join(s.opts.StateDir, stateFile), err)
	}
	var taken []snapshot.Taken
	for _, t := range st.Snapshots {
		taken = append(taken, snapshot.Taken{Catalog: banyandb.Catalog(t.Catalog), Name: t.Name})
	}
	if err := snapshot.Remove(s.opts.Roots, taken); err != nil {
		return fmt.Errorf("cannot remove the snapshot of operation %s, left by an agent that stopped: %w", st.Operation, err)
	}
	return s.removeState()
}
