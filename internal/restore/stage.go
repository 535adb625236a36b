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

// open prepares the root for writing. A first run creates the root if need
// be and writes its marker, recording the policy and the root's own units,
// before anything else; then the staging directory is created inside the
// root. A resumed restore keeps the marker it found.
func (t *targetRoot) open(id repository.ID, policy ExistingPolicy, now time.Time) error {
	if !t.resumed {
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return fmt.Errorf("cannot create target %s: %w", t.dir, err)
		}
		t.mark = marker{Backup: id.String(), Started: now.UTC(), Phase: phaseStaging, Policy: policy, HadData: t.hasData, Own: t.ownList()}
		if err := t.writeMarker(); err != nil {
			return err
		}
		t.resumed = true
	}
	if err := os.Mkdir(t.staging, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot create staging directory %s: %w", t.staging, err)
	}
	return t.step("staging created")
}

// finish moves the staged tree into the root, replacing the units the plan
// replaces, then removes the staging directory, the old versions of the
// replaced units with it, and last the marker. The marker's phase records
// when the first entry is about to move and when the last has moved.
func (t *targetRoot) finish(p *plan) error {
	if err := syncFS(t.staging); err != nil {
		return err
	}
	if t.mark.Phase == phaseStaging {
		t.mark.Phase = phaseMoving
		if err := t.writeMarker(); err != nil {
			return err
		}
	}
	replaced := map[string]bool{}
	for _, u := range p.units {
		if u.action == "replace" {
			replaced[targetPath(u.cat, u.rel)] = true
		}
	}
	m := mover{trash: filepath.Join(t.staging, trashName), replaced: replaced, step: t.step}
	if err := m.move(t.staging, t.dir, ""); err != nil {
		return err
	}
	if t.mark.Phase != phaseMoved {
		t.mark.Phase = phaseMoved
		if err := t.writeMarker(); err != nil {
			return err
		}
	}
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

// abandon removes what the restore staged and its marker, and the root
// itself if the restore created it and it is empty again: the root is as
// it was before the first run. Once entries have moved into the root, it
// leaves everything as it is, marked incomplete, for a rerun to finish.
func (t *targetRoot) abandon() {
	if t.mark.Phase != phaseStaging {
		return
	}
	_ = os.RemoveAll(t.staging)
	_ = os.Remove(filepath.Join(t.dir, MarkerName))
	if !t.hasData {
		_ = os.Remove(t.dir)
	}
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
