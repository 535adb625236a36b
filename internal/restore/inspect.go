package restore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// inspect learns whether each root holds data and which units, or, when
// roots hold the marker of an interrupted restore of the same backup, what
// the first run recorded. It refuses a root holding another restore's
// marker.
func (ts targetRoots) inspect(id repository.ID) error {
	var found *marker
	for _, t := range ts {
		if err := t.inspect(id); err != nil {
			return err
		}
		if t.resumed && t.mark.recorded() && (found == nil || phaseRank(t.mark.Phase) > phaseRank(found.Phase)) {
			found = &t.mark
		}
	}
	for _, t := range ts {
		if err := t.settle(found); err != nil {
			return err
		}
	}
	return nil
}

// inspect reads the root's entries and its marker, if any. Neither the
// marker, nor the staging directory, nor an empty lost+found (a new
// filesystem's) counts as data.
func (t *targetRoot) inspect(id repository.ID) error {
	st, err := os.Stat(t.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot use target %s: %w", t.dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("cannot restore into %s: it is not a directory", t.dir)
	}
	ents, err := os.ReadDir(t.dir)
	if err != nil {
		return fmt.Errorf("cannot read target %s: %w", t.dir, err)
	}
	marked := false
	for _, e := range ents {
		switch name := e.Name(); {
		case name == MarkerName:
			marked = true
		case name == markerTemp: // a marker being written when a restore was killed
		case name == StagingName:
			t.staged = true
		case name == lostFound && e.IsDir() && emptyDir(filepath.Join(t.dir, name)):
		default:
			t.hasData = true
		}
	}
	if !marked {
		t.existed = true
		return nil
	}
	m, err := readMarker(t.dir)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w: remove it if no restore is running", filepath.Join(t.dir, MarkerName), err)
	}
	if m.Backup != id.String() {
		return fmt.Errorf("%w: %s holds an incomplete restore of backup %s: rerun that restore, or remove the directory", ErrTargetNotEmpty, t.dir, repository.ShortHex(m.Backup))
	}
	t.resumed, t.mark = true, m
	return nil
}

// settle decides what the root held before the restore began. A root with
// a recorded marker takes its own record. A root without a marker that
// another root's marker records as moved had its marker removed after
// every entry moved, the restore's last steps: it is resumed as moved.
// Any other root is inventoried afresh.
func (t *targetRoot) settle(found *marker) error {
	if t.resumed {
		if r, ok := t.mark.root(t.dir); ok && t.mark.recorded() {
			t.take(r)
		}
		return nil
	}
	if r, ok := found.root(t.dir); ok && found.Phase == phaseMoved {
		t.resumed, t.mark = true, *found
		t.take(r)
		return nil
	}
	if t.staged {
		return fmt.Errorf("cannot restore: %s holds %s but no %s: it is not a restore in progress: remove it", t.dir, StagingName, MarkerName)
	}
	if !t.hasData {
		return nil
	}
	var err error
	t.own, err = inventory(t.dir)
	return err
}

// inventory lists the units a root holds in any catalog: the entries of
// each catalog's data directory and, for catalogs with segments, of each
// group directory.
func inventory(dir string) (map[string]bool, error) {
	own := map[string]bool{}
	for _, c := range banyandb.AllCatalogs() {
		data := filepath.Join(dir, string(c), "data")
		ents, err := os.ReadDir(data)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read target %s: %w", data, err)
		}
		for _, e := range ents {
			if !e.IsDir() || !c.HasSegments() {
				own[unitKey(c, e.Name())] = true
				continue
			}
			sub, err := os.ReadDir(filepath.Join(data, e.Name()))
			if err != nil {
				return nil, fmt.Errorf("cannot read target %s: %w", filepath.Join(data, e.Name()), err)
			}
			for _, se := range sub {
				own[unitKey(c, e.Name()+"/"+se.Name())] = true
			}
		}
	}
	return own, nil
}

// unitKey names a unit (or any path below a catalog's data directory) in
// a root's record of its own units.
func unitKey(c banyandb.Catalog, rel string) string { return string(c) + "/" + rel }

// emptyDir reports whether dir can be read and holds nothing.
func emptyDir(dir string) bool {
	fh, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer fh.Close()
	names, err := fh.Readdirnames(1)
	return len(names) == 0 && errors.Is(err, io.EOF)
}

// checkFilesystems refuses, before anything is written, a root where a
// directory the move enters (a catalog's directory, its data directory, a
// group's) is on another filesystem than the root: a mount point below the
// root, or a symbolic link out of it. Entries staged inside the root could
// not be renamed into it.
func (t *targetRoot) checkFilesystems(p *plan, byCat map[banyandb.Catalog]*targetRoot) error {
	root, err := deviceOf(t.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot inspect target %s: %w", t.dir, err)
	}
	seen := map[string]bool{}
	for _, u := range p.units {
		if byCat[u.cat] != t {
			continue
		}
		dirs := []string{string(u.cat), filepath.Join(string(u.cat), "data")}
		if group, _, ok := strings.Cut(u.rel, "/"); ok {
			dirs = append(dirs, filepath.Join(string(u.cat), "data", group))
		}
		for _, d := range dirs {
			if seen[d] {
				continue
			}
			seen[d] = true
			path := filepath.Join(t.dir, d)
			dev, err := deviceOf(path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return fmt.Errorf("cannot inspect %s: %w", path, err)
			case dev != root:
				return fmt.Errorf("cannot restore into %s: %s is on another filesystem (a mount point, or a link out of the root), and files staged in %s cannot be renamed into it: restore into a root whose catalog directories are on the root's filesystem", t.dir, path, t.staging)
			}
		}
	}
	return nil
}

// TargetHadData reports whether the target roots of the catalogs held data
// before a restore of backup id began: a root holding the marker of an
// interrupted restore of id answers with what its first run recorded, any
// other root with what it holds (an empty lost+found is nothing). A
// target's release is to be read only from data it had before the restore,
// not from what an interrupted run of it moved in.
func TargetHadData(roots banyandb.Roots, cats []banyandb.Catalog, id repository.ID) (bool, error) {
	_, ts, _, err := resolveTargets(roots, cats)
	if err != nil {
		return false, err
	}
	if err := ts.inspect(id); err != nil {
		return false, err
	}
	for _, t := range ts {
		if t.hasData {
			return true, nil
		}
	}
	return false, nil
}
