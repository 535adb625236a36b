package restore

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// MarkerName is the file that marks a target root as holding an incomplete
// restore. It is written before anything else of the restore reaches the
// root and removed last.
const MarkerName = "RESTORE-IN-PROGRESS"

// markerTemp is the marker while it is written: renamed over MarkerName
// once complete, so that a kill never leaves a marker half written.
const markerTemp = MarkerName + ".tmp"

// The phases of a restore, recorded in its marker.
const (
	// phaseStaging: files are being written into the staging directory;
	// the root's own entries are untouched.
	phaseStaging = "staging"
	// phaseMoving: staged entries are being renamed into the root.
	phaseMoving = "moving"
	// phaseMoved: every staged entry is in the root; what is left is to
	// remove the staging directory and the marker.
	phaseMoved = "moved"
)

// marker is the content of a root's RESTORE-IN-PROGRESS file: which backup
// is being restored, and what a rerun needs to know of the first run.
// Every root of a restore gets the same record of all of them.
type marker struct {
	Backup  string    `json:"backup"`
	Started time.Time `json:"started"`
	// Phase is one of the phases above; "" in markers of releases that
	// staged beside the root, which recorded nothing else.
	Phase string `json:"phase,omitempty"`
	// Policy is the first run's: "" (refuse a root holding data), "merge"
	// or "overwrite".
	Policy ExistingPolicy `json:"policy,omitempty"`
	// Roots records every root of the restore as it was before the first
	// run, by its absolute path.
	Roots map[string]rootRecord `json:"roots,omitempty"`
}

// rootRecord is what a root held before the first run of a restore.
type rootRecord struct {
	HadData bool `json:"had_data,omitempty"`
	// Own lists the units the root held, as <catalog>/<path below the
	// catalog's data directory> (unitKey): a rerun must not take the
	// units the first run moved in for the root's own.
	Own []string `json:"own,omitempty"`
}

// recorded reports whether the marker records the first run (Phase,
// Roots): markers of older releases do not.
func (m marker) recorded() bool { return m.Phase != "" }

// phaseRank orders the phases; the "" of older releases' markers counts
// as moving: entries may have moved.
func phaseRank(phase string) int {
	switch phase {
	case phaseStaging:
		return 0
	case phaseMoved:
		return 2
	}
	return 1
}

func readMarker(dir string) (marker, error) {
	var m marker
	data, err := os.ReadFile(filepath.Join(dir, MarkerName))
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(data, &m)
	return m, err
}

// writeMarker replaces the root's marker with t.mark: written to a
// temporary file, synced, renamed over the marker, and the root synced.
func (t *targetRoot) writeMarker() error {
	data, err := json.Marshal(t.mark)
	if err != nil {
		return fmt.Errorf("cannot write restore marker: %w", err)
	}
	tmp := filepath.Join(t.dir, markerTemp)
	if err := writeSynced(tmp, data); err != nil {
		return err
	}
	if err := t.step("marker written (" + t.mark.Phase + ")"); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(t.dir, MarkerName)); err != nil {
		return fmt.Errorf("cannot write restore marker in %s: %w", t.dir, err)
	}
	if err := syncDir(t.dir); err != nil {
		return err
	}
	return t.step("marker " + t.mark.Phase)
}

// record is what the marker records of the root.
func (t *targetRoot) record() rootRecord {
	r := rootRecord{HadData: t.hasData}
	for k := range t.own {
		r.Own = append(r.Own, k)
	}
	sort.Strings(r.Own)
	return r
}

// take sets the root's data and units from a record.
func (t *targetRoot) take(r rootRecord) {
	t.recorded = true
	t.hasData = r.HadData
	t.own = map[string]bool{}
	for _, k := range r.Own {
		t.own[k] = true
	}
}

// step calls the test hook, if any, after a step that changed the root.
func (t *targetRoot) step(name string) error {
	if t.hook == nil {
		return nil
	}
	return t.hook(name)
}

// root returns what m records of root dir; m may be nil.
func (m *marker) root(dir string) (rootRecord, bool) {
	if m == nil {
		return rootRecord{}, false
	}
	r, ok := m.Roots[dir]
	return r, ok
}
