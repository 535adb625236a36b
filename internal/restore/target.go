package restore

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
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
	// existed: dir was there, without a marker, before the restore began;
	// abandoning the restore leaves it even when it is empty.
	existed bool
	// resumed: dir holds the marker of an interrupted restore of the same
	// backup, mark, so what it holds besides its own units came from that
	// restore.
	resumed bool
	mark    marker
	// recorded: mark records what dir held before the first run.
	recorded bool
	// own are the units dir held before the restore began, keyed
	// <catalog>/<rel> (unitKey).
	own map[string]bool
	// staged: dir holds a staging directory.
	staged bool
	hook   func(string) error
}

// targetRoots are the distinct roots of a restore, sorted by path.
type targetRoots []*targetRoot

// resolveTargets returns the distinct roots of the catalogs, absolute, and
// which root each catalog goes to.
func resolveTargets(roots banyandb.Roots, cats []banyandb.Catalog) (banyandb.Roots, targetRoots, map[banyandb.Catalog]*targetRoot, error) {
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
	var list targetRoots
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
	case t.recorded && t.mark.Policy != policy:
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
