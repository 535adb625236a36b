package restore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// open prepares the root for writing: it creates the staging directory
// with its marker (or checks that an existing one belongs to the same
// backup: a resumed restore), and marks the root itself as holding an
// incomplete restore, creating it if need be.
func (t *targetRoot) open(id repository.ID, now time.Time) error {
	data, _ := json.Marshal(marker{Backup: id.String(), Started: now.UTC()})
	if m, err := readMarker(t.staging); err == nil {
		if m.Backup != id.String() {
			return fmt.Errorf("cannot restore: %s holds an interrupted restore of backup %s: rerun that restore, or remove the directory", t.staging, repository.ShortHex(m.Backup))
		}
	} else if _, err := os.Stat(t.staging); err == nil {
		return fmt.Errorf("cannot restore: %s exists and is not a restore in progress: remove it", t.staging)
	} else {
		if err := os.MkdirAll(t.staging, 0o755); err != nil {
			return fmt.Errorf("cannot create staging directory %s: %w", t.staging, err)
		}
		if err := writeSynced(filepath.Join(t.staging, MarkerName), data); err != nil {
			return err
		}
		if err := syncDir(filepath.Dir(t.staging)); err != nil {
			return err
		}
	}
	if !t.resumed {
		if err := os.MkdirAll(t.dir, 0o755); err != nil {
			return fmt.Errorf("cannot create target %s: %w", t.dir, err)
		}
		if err := writeSynced(filepath.Join(t.dir, MarkerName), data); err != nil {
			return err
		}
		if err := syncDir(t.dir); err != nil {
			return err
		}
		t.resumed = true
	}
	return nil
}

// finish moves the staged tree into the root, replacing the units the plan
// replaces, then removes the staging directory and the markers.
func (t *targetRoot) finish(p *plan) error {
	if err := syncFS(t.staging); err != nil {
		return err
	}
	replaced := map[string]bool{}
	for _, u := range p.units {
		if u.action == "replace" {
			replaced[targetPath(u.cat, u.rel)] = true
		}
	}
	trash := filepath.Join(t.staging, ".replaced")
	if err := moveTree(t.staging, t.dir, "", replaced, trash); err != nil {
		return err
	}
	if err := syncDir(t.dir); err != nil {
		return err
	}
	if err := os.RemoveAll(t.staging); err != nil {
		return fmt.Errorf("cannot remove staging directory %s: %w", t.staging, err)
	}
	if err := os.Remove(filepath.Join(t.dir, MarkerName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove restore marker in %s: %w", t.dir, err)
	}
	return syncDir(t.dir)
}

// moveTree renames each entry of the staging directory src into dst where
// dst lacks it. Where dst has it, a unit to replace is first moved to the
// trash; any other directory is descended into.
func moveTree(src, dst, rel string, replaced map[string]bool, trash string) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cannot read staging directory %s: %w", src, err)
	}
	for _, e := range ents {
		name := e.Name()
		if rel == "" && (name == MarkerName || name == ".replaced") {
			continue
		}
		r := filepath.Join(rel, name)
		from, to := filepath.Join(src, name), filepath.Join(dst, name)
		_, err := os.Lstat(to)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return fmt.Errorf("cannot inspect %s: %w", to, err)
		case replaced[r]:
			old := filepath.Join(trash, r)
			if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
				return fmt.Errorf("cannot set aside %s: %w", to, err)
			}
			if err := os.Rename(to, old); err != nil {
				return fmt.Errorf("cannot set aside %s: %w", to, err)
			}
		case e.IsDir():
			if err := moveTree(from, to, r, replaced, trash); err != nil {
				return err
			}
			continue
		default:
			return fmt.Errorf("cannot restore %s: the target has it and the restore does not replace it", to)
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("cannot move restored files into %s: %w", to, err)
		}
	}
	return syncDir(dst)
}

// abandon removes the staging directory and the marker, and the root itself
// if the restore created it and it is empty again.
func (t *targetRoot) abandon() {
	_ = os.RemoveAll(t.staging)
	_ = os.Remove(filepath.Join(t.dir, MarkerName))
	if !t.hasData {
		_ = os.Remove(t.dir)
	}
}

// markDone marks the files that an interrupted restore of the same backup
// already staged completely (size, time and every blob's hash match), so
// that their packs are neither verified nor read again. It returns how
// many.
func (p *plan) markDone(targets []*targetRoot, id repository.ID, chunkSize int) int64 {
	resuming := map[string]bool{}
	for _, t := range targets {
		if m, err := readMarker(t.staging); err == nil && m.Backup == id.String() {
			resuming[t.staging] = true
		}
	}
	if len(resuming) == 0 {
		return 0
	}
	var n int64
	buf := make([]byte, chunkSize)
	for i := range p.files {
		f := &p.files[i]
		if f.generated {
			continue
		}
		for staging := range resuming {
			if strings.HasPrefix(f.dst, staging+string(filepath.Separator)) && matches(f.dst, &f.node, buf) {
				f.done = true
				n++
			}
		}
	}
	return n
}
