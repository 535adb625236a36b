package restore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// StagingName is the staging directory inside each target root: on the
// root's own filesystem, so that staged entries are renamed into the root.
// A server reads only its catalogs' directories under a root, and check
// and backups only those, so none of them sees it.
const StagingName = ".banyan-restore"

// trashName is the directory in the staging directory where the units an
// overwrite replaces are set aside until the restore is complete.
const trashName = ".replaced"

// lostFound is the directory mkfs.ext4 makes in a new filesystem.
const lostFound = "lost+found"

// targetRoot is one distinct root directory the restore writes below: the
// target, or a catalog's own root.
type targetRoot struct {
	dir     string // absolute
	staging string // <dir>/.banyan-restore
	// hasData: dir held data before the restore began (for a resumed
	// restore, before its first run).
	hasData bool
	// resumed: dir holds the marker of an interrupted restore of the same
	// backup, mark, so what it holds besides its own units came from that
	// restore.
	resumed bool
	mark    marker
	// own are the units dir held before the restore began, keyed
	// <catalog>/<rel> (unitKey).
	own  map[string]bool
	hook func(string) error
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
			t = &targetRoot{dir: dir, staging: filepath.Join(dir, StagingName)}
			byDir[dir] = t
			list = append(list, t)
		}
		byCat[c] = t
	}
	sort.Slice(list, func(i, j int) bool { return list[i].dir < list[j].dir })
	return abs, list, byCat, nil
}

// inspect learns whether the root holds data and which units, or, when it
// holds the marker of an interrupted restore of the same backup, what that
// marker recorded. It refuses a root holding another restore's marker.
// Neither the marker, nor the staging directory, nor an empty lost+found
// counts as data.
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
	marked, staged := false, false
	for _, e := range ents {
		switch name := e.Name(); {
		case name == MarkerName:
			marked = true
		case name == markerTemp: // a marker being written when a restore was killed
		case name == StagingName:
			staged = true
		case name == lostFound && e.IsDir() && emptyDir(filepath.Join(t.dir, name)):
		default:
			t.hasData = true
		}
	}
	switch {
	case marked:
		return t.resume(id)
	case staged:
		return fmt.Errorf("cannot restore: %s holds %s but no %s: it is not a restore in progress: remove it", t.dir, StagingName, MarkerName)
	case t.hasData:
		t.own, err = inventory(t.dir)
		return err
	}
	return nil
}

// resume reads the marker of an interrupted restore and takes what it
// recorded of the first run.
func (t *targetRoot) resume(id repository.ID) error {
	m, err := readMarker(t.dir)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w: remove it if no restore is running", filepath.Join(t.dir, MarkerName), err)
	}
	if m.Backup != id.String() {
		return fmt.Errorf("%w: %s holds an incomplete restore of backup %s: rerun that restore, or remove the directory", ErrTargetNotEmpty, t.dir, repository.ShortHex(m.Backup))
	}
	t.resumed, t.mark = true, m
	if m.recorded() {
		t.hasData = m.HadData
		t.own = map[string]bool{}
		for _, k := range m.Own {
			t.own[k] = true
		}
	}
	return nil
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

// resolveConflicts decides, for every unit the target held before the
// restore began, by the policy: refuse the restore, keep the target's
// (merge) or replace it (overwrite). The rerun of an interrupted restore
// decides from what the first run recorded, so that the units the first
// run moved in are not taken for the target's own.
func resolveConflicts(p *plan, roots banyandb.Roots, byCat map[banyandb.Catalog]*targetRoot, policy ExistingPolicy) ([]Conflict, []*unit, error) {
	for _, t := range byCat {
		if err := t.checkPolicy(policy); err != nil {
			return nil, nil, err
		}
	}
	var conflicts []Conflict
	var skippedList []*unit
	skipped := map[*unit]bool{}
	for _, u := range p.units {
		u.action = "restore"
		if !byCat[u.cat].own[unitKey(u.cat, u.rel)] {
			continue
		}
		path := filepath.Join(roots.DataDir(u.cat), filepath.FromSlash(u.rel))
		if policy == Merge {
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

// checkPolicy refuses a root holding data without --merge or --overwrite,
// and the rerun of an interrupted restore into a root that held data with
// another policy than the first run's.
func (t *targetRoot) checkPolicy(policy ExistingPolicy) error {
	switch {
	case !t.hasData:
		return nil
	case t.resumed && t.mark.recorded() && t.mark.Policy != policy:
		return fmt.Errorf("%w: %s holds an interrupted restore that was run %s: rerun it the same way", ErrTargetNotEmpty, t.dir, policyFlag(t.mark.Policy))
	case !t.resumed && policy == RefuseExisting:
		return fmt.Errorf("%w: %s holds data: restore into a new or empty directory, or pass --merge (add what it lacks) or --overwrite (replace what the restore brings)", ErrTargetNotEmpty, t.dir)
	}
	return nil
}

// policyFlag says how a policy is asked for on the command line.
func policyFlag(p ExistingPolicy) string {
	if p == RefuseExisting {
		return "without --merge or --overwrite"
	}
	return "with --" + string(p)
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
