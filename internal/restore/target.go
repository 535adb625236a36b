package restore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// MarkerName is the file that marks a restore as incomplete, in each target
// root and in its staging directory.
const MarkerName = "RESTORE-IN-PROGRESS"

// targetRoot is one distinct root directory the restore writes below: the
// target, or a catalog's own root.
type targetRoot struct {
	dir     string // absolute
	staging string // .<base>.banyan-restore beside dir
	// hasData: dir holds entries besides our marker.
	hasData bool
	// resumed: dir holds the marker of an interrupted restore of the same
	// backup, so what it holds came from that restore.
	resumed bool
}

// resolveTargets returns the distinct roots of the catalogs, absolute, and
// which root each catalog goes to.
func resolveTargets(roots banyandb.Roots, cats []banyandb.Catalog) (banyandb.Roots, []*targetRoot, map[banyandb.Catalog]*targetRoot, error) {
	abs := banyandb.Roots{Override: map[banyandb.Catalog]string{}}
	var err error
	if roots.Root != "" {
		if abs.Root, err = filepath.Abs(roots.Root); err != nil {
			return abs, nil, nil, fmt.Errorf("cannot resolve target %s: %w", roots.Root, err)
		}
	}
	for c, p := range roots.Override {
		if p == "" {
			continue
		}
		if abs.Override[c], err = filepath.Abs(p); err != nil {
			return abs, nil, nil, fmt.Errorf("cannot resolve target %s: %w", p, err)
		}
	}
	byDir := map[string]*targetRoot{}
	byCat := map[banyandb.Catalog]*targetRoot{}
	var list []*targetRoot
	for _, c := range cats {
		dir := abs.CatalogRoot(c)
		if dir == "" {
			return abs, nil, nil, fmt.Errorf("no target for the %s catalog: give a target root, or one for %s", c, c)
		}
		t := byDir[dir]
		if t == nil {
			t = &targetRoot{dir: dir, staging: filepath.Join(filepath.Dir(dir), "."+filepath.Base(dir)+".banyan-restore")}
			byDir[dir] = t
			list = append(list, t)
		}
		byCat[c] = t
	}
	sort.Slice(list, func(i, j int) bool { return list[i].dir < list[j].dir })
	return abs, list, byCat, nil
}

// inspect learns whether the root holds data, and refuses a root holding
// another restore's marker.
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
	for _, e := range ents {
		if e.Name() != MarkerName {
			t.hasData = true
			continue
		}
		m, err := readMarker(t.dir)
		if err != nil {
			return fmt.Errorf("cannot read %s: %w: remove it if no restore is running", filepath.Join(t.dir, MarkerName), err)
		}
		if m.Backup != id.String() {
			return fmt.Errorf("%w: %s holds an incomplete restore of backup %s: rerun that restore, or remove the directory", ErrTargetNotEmpty, t.dir, repository.ShortHex(m.Backup))
		}
		t.resumed = true
	}
	return nil
}

// checkLocks refuses targets where a running server holds a group lock.
func checkLocks(roots banyandb.Roots, cats []banyandb.Catalog) error {
	held, err := banyandb.HeldLocks(roots, cats)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		return fmt.Errorf("cannot restore: %w: a server holds %s: stop the node before restoring into its data (or pass --force if you are sure)",
			ErrTargetInUse, strings.Join(held, ", "))
	}
	return nil
}

// Conflict is a unit of the restore that the target already has.
type Conflict struct {
	Path   string `json:"path"`
	Action string `json:"action"` // "skipped" (merge) or "replaced" (overwrite)
}

// resolveConflicts decides, for every unit the target already has, by the
// policy: refuse the restore, keep the target's (merge) or replace it
// (overwrite). A root that holds an interrupted restore of the same backup
// is overwritten: what it has came from that restore.
func resolveConflicts(p *plan, roots banyandb.Roots, byCat map[banyandb.Catalog]*targetRoot, policy ExistingPolicy) ([]Conflict, []*unit, error) {
	for _, t := range byCat {
		if t.hasData && !t.resumed && policy == RefuseExisting {
			return nil, nil, fmt.Errorf("%w: %s holds data: restore into a new or empty directory, or pass --merge (add what it lacks) or --overwrite (replace what the restore brings)", ErrTargetNotEmpty, t.dir)
		}
	}
	var conflicts []Conflict
	var skippedList []*unit
	skipped := map[*unit]bool{}
	for _, u := range p.units {
		u.action = "restore"
		t := byCat[u.cat]
		if !t.hasData {
			continue
		}
		path := filepath.Join(roots.DataDir(u.cat), filepath.FromSlash(u.rel))
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, nil, fmt.Errorf("cannot inspect %s: %w", path, err)
		}
		if policy == Merge && !t.resumed {
			u.action = "skip"
			skipped[u] = true
			skippedList = append(skippedList, u)
			conflicts = append(conflicts, Conflict{Path: path, Action: "skipped"})
			continue
		}
		u.action = "replace"
		conflicts = append(conflicts, Conflict{Path: path, Action: "replaced"})
	}
	if len(skipped) > 0 {
		p.drop(skipped)
	}
	return conflicts, skippedList, nil
}

// drop removes the given units and everything in them from the plan.
func (p *plan) drop(units map[*unit]bool) {
	us := p.units[:0]
	for _, u := range p.units {
		if !units[u] {
			us = append(us, u)
		}
	}
	p.units = us
	ds := p.dirs[:0]
	for _, d := range p.dirs {
		if d.unit == nil || !units[d.unit] {
			ds = append(ds, d)
		}
	}
	p.dirs = ds
	fs := p.files[:0]
	for _, f := range p.files {
		if !units[f.unit] {
			fs = append(fs, f)
		}
	}
	p.files = fs
	p.count()
}

type marker struct {
	Backup  string    `json:"backup"`
	Started time.Time `json:"started"`
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
