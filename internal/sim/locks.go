package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// lockFileName is the file a server flocks in a group directory (measure,
// stream, trace) or in the data directory (property, schema-property).
const lockFileName = "lock"

// lockSet is the lock files the server holds open and flocked.
type lockSet struct {
	files []*os.File
}

// acquireLocks takes an exclusive flock on <data>/<group>/lock of every
// measure, stream and trace group, and on <data>/lock of property and
// schema-property, like a running server. The lock files are created when
// missing. It fails if any is held by someone else.
func acquireLocks(roots banyandb.Roots) (*lockSet, error) {
	var paths []string
	for _, c := range banyandb.AllCatalogs() {
		dataDir := roots.DataDir(c)
		if !c.HasSegments() {
			paths = append(paths, filepath.Join(dataDir, lockFileName))
			continue
		}
		entries, err := os.ReadDir(dataDir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("cannot list groups in %s: %w", dataDir, err)
		}
		for _, e := range entries {
			if e.IsDir() {
				paths = append(paths, filepath.Join(dataDir, e.Name(), lockFileName))
			}
		}
	}
	ls := &lockSet{}
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			ls.release()
			return nil, fmt.Errorf("cannot open lock %s: %w", p, err)
		}
		if err := flockExclusive(f); err != nil {
			f.Close()
			ls.release()
			return nil, fmt.Errorf("cannot lock %s: %w", p, err)
		}
		ls.files = append(ls.files, f)
	}
	return ls, nil
}

// release unlocks and closes every lock file.
func (ls *lockSet) release() {
	if ls == nil {
		return
	}
	for _, f := range ls.files {
		_ = funlock(f)
		f.Close()
	}
	ls.files = nil
}
