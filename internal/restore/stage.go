package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// open prepares the roots for writing. In a first run, each root is
// created if need be and gets its marker, recording the policy and what
// every root held, before anything else of the restore reaches it; then
// its staging directory is created inside it. Resumed roots keep their
// marker.
func (ts targetRoots) open(id repository.ID, policy ExistingPolicy, now time.Time) error {
	m := marker{Backup: id.String(), Started: now.UTC(), Phase: phaseStaging, Policy: policy, Roots: map[string]rootRecord{}}
	for _, t := range ts {
		m.Roots[t.dir] = t.record()
	}
	for _, t := range ts {
		if !t.resumed {
			if err := os.MkdirAll(t.dir, 0o755); err != nil {
				return fmt.Errorf("cannot create target %s: %w", t.dir, err)
			}
			t.mark = m
			if err := t.writeMarker(); err != nil {
				return err
			}
			t.resumed = true
		}
		if err := os.Mkdir(t.staging, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cannot create staging directory %s: %w", t.staging, err)
		}
		if err := t.step("staging created"); err != nil {
			return err
		}
	}
	return nil
}

// finish moves each root's staged tree into it, replacing the units the
// plan replaces, then removes each staging directory, with the old
// versions of the replaced units, and last each marker. The markers say
// when the first entry is about to move (moving) and when the last has
// moved (moved) in every root, so that no marker is removed before every
// root is complete.
func (ts targetRoots) finish(p *plan) error {
	for _, t := range ts {
		if err := syncFS(t.staging); err != nil {
			return err
		}
	}
	if err := ts.enter(phaseMoving); err != nil {
		return err
	}
	replaced := map[string]bool{}
	for _, u := range p.units {
		if u.action == "replace" {
			replaced[targetPath(u.cat, u.rel)] = true
		}
	}
	for _, t := range ts {
		m := mover{trash: filepath.Join(t.staging, trashName), replaced: replaced, step: t.step}
		if err := m.move(t.staging, t.dir, ""); err != nil {
			return err
		}
	}
	if err := ts.enter(phaseMoved); err != nil {
		return err
	}
	for _, t := range ts {
		if err := t.cleanUp(); err != nil {
			return err
		}
	}
	return nil
}

// enter records a phase in every root's marker that records an earlier one.
func (ts targetRoots) enter(phase string) error {
	for _, t := range ts {
		if phaseRank(t.mark.Phase) < phaseRank(phase) || !t.mark.recorded() {
			t.mark.Phase = phase
			if err := t.writeMarker(); err != nil {
				return err
			}
		}
	}
	return nil
}

// cleanUp removes the root's staging directory, then its marker.
func (t *targetRoot) cleanUp() error {
	if err := os.RemoveAll(t.staging); err != nil {
		return fmt.Errorf("cannot remove staging directory %s: %w", t.staging, err)
	}
	if err := t.step("staging removed"); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join(t.dir, MarkerName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove restore marker in %s: %w", t.dir, err)
	}
	if err := syncDir(t.dir); err != nil {
		return err
	}
	return t.step("marker removed")
}

// abandon removes what the restore staged and its markers, and each root
// the restore (or the interrupted run it resumes) created that is empty
// again: the roots are as they were
// before the first run. Once entries may have moved into a root, it leaves
// everything as it is, marked incomplete, for a rerun to finish, and
// returns false.
func (ts targetRoots) abandon() bool {
	for _, t := range ts {
		if t.mark.Phase != phaseStaging {
			return false
		}
	}
	for _, t := range ts {
		_ = os.RemoveAll(t.staging)
		_ = os.Remove(filepath.Join(t.dir, MarkerName))
		if !t.hasData && !t.existed {
			_ = os.Remove(t.dir)
		}
	}
	return true
}

// inPlace reports whether an interrupted restore of the same backup
// already moved unit u into the root. A unit the root has is the restore's
// when the root did not have it before the first run, or, for a unit that
// an overwrite replaces, when the root's old version has been set aside;
// once the marker says every entry moved, every unit the root has is.
func (t *targetRoot) inPlace(u *unit) (bool, error) {
	if !t.resumed {
		return false, nil
	}
	path := targetPath(u.cat, u.rel)
	have, err := exists(filepath.Join(t.dir, path))
	if err != nil || !have {
		return false, err
	}
	if t.mark.Phase == phaseMoved || !t.own[unitKey(u.cat, u.rel)] {
		return true, nil
	}
	return exists(filepath.Join(t.staging, trashName, path))
}

func exists(path string) (bool, error) {
	_, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot inspect %s: %w", path, err)
	}
	return true, nil
}

// markDone marks the units an interrupted restore of the same backup
// already moved into their root, and the files it already staged
// completely (size, time and every blob's hash match), so that their packs
// are neither verified nor read again. It returns how many files.
func (p *plan) markDone(byCat map[banyandb.Catalog]*targetRoot, chunkSize int) (int64, error) {
	for _, u := range p.units {
		var err error
		if u.inPlace, err = byCat[u.cat].inPlace(u); err != nil {
			return 0, err
		}
	}
	var n int64
	buf := make([]byte, chunkSize)
	for i := range p.files {
		f := &p.files[i]
		switch {
		case f.unit != nil && f.unit.inPlace:
			f.done = true
		case f.generated || !byCat[f.cat].resumed:
			continue
		default:
			f.done = matches(f.dst, &f.node, buf)
		}
		if f.done {
			n++
		}
	}
	return n, nil
}

// stagingDirs lists the roots' staging directories.
func (ts targetRoots) stagingDirs() []string {
	dirs := make([]string, len(ts))
	for i, t := range ts {
		dirs[i] = t.staging
	}
	return dirs
}
