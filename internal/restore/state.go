package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// RootState is what a target root holds, as a restore judges it.
type RootState struct {
	// HasData: the root holds data: anything but a restore's marker, its
	// staging directory and an empty lost+found.
	HasData bool
	// InProgress: the root holds a restore's marker (or the marker's
	// temporary file, or a staging directory): a rerun resumes it.
	InProgress bool
}

// InspectRoot says what a target root holds, without reading the marker
// (a missing root holds nothing). `restore --if-empty` uses it to leave
// roots holding data alone.
func InspectRoot(dir string) (RootState, error) {
	var st RootState
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("cannot read target %s: %w", dir, err)
	}
	for _, e := range ents {
		switch name := e.Name(); {
		case name == MarkerName, name == markerTemp, name == StagingName:
			st.InProgress = true
		case name == lostFound && e.IsDir() && emptyDir(filepath.Join(dir, name)):
		default:
			st.HasData = true
		}
	}
	return st, nil
}
