package restore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// A restore writes beneath its targets only, whatever the repository
// holds: every path it writes is made of valid names (Repository.Walk
// refuses others), is proved local below its catalog's data directory
// here, and is never reached through a symbolic link below a data
// directory, neither in the target nor in the staging directory
// (restore.md, "Containment").

// checkContained proves that every path of the plan stays below its
// catalog's data directory on this system: each element a valid name and
// a local one here (Windows, for one, reads some names as devices).
func (p *plan) checkContained() error {
	for _, d := range p.dirs {
		if err := contained(d.cat, d.rel); err != nil {
			return err
		}
	}
	for _, f := range p.files {
		if err := contained(f.cat, f.rel); err != nil {
			return err
		}
	}
	return nil
}

func contained(c banyandb.Catalog, rel string) error {
	if !c.Valid() {
		return fmt.Errorf("%w: %q is not a catalog", repository.ErrIntegrity, c)
	}
	if rel == "" {
		return nil
	}
	for _, e := range strings.Split(rel, "/") {
		if err := repository.CheckName(e); err != nil {
			return fmt.Errorf("%w: %s/%s: %q: %v", repository.ErrIntegrity, c, rel, e, err)
		}
		if !filepath.IsLocal(e) {
			return fmt.Errorf("cannot restore %s/%s: %q is not a file name on this system", c, rel, e)
		}
	}
	if !filepath.IsLocal(targetPath(c, rel)) {
		return fmt.Errorf("cannot restore %s/%s: it is not a path below the catalog's data directory on this system", c, rel)
	}
	return nil
}

// checkTargetLinks refuses to restore where a path of a unit, below a
// catalog's data directory in the target, is a symbolic link: the unit's
// own path and every directory above it up to the data directory, for
// the units restored and those a merge skips (a server would not load a
// root holding a link, and check cannot read it). The data directory and
// the directories above it are the operator's layout and may be links.
func checkTargetLinks(roots banyandb.Roots, units ...[]*unit) error {
	seen := map[string]bool{}
	for _, u := range slices.Concat(units...) {
		path := roots.DataDir(u.cat)
		for _, e := range strings.Split(u.rel, "/") {
			path = filepath.Join(path, e)
			if seen[path] {
				continue
			}
			seen[path] = true
			st, err := os.Lstat(path)
			if errors.Is(err, fs.ErrNotExist) {
				break
			}
			if err != nil {
				return fmt.Errorf("cannot inspect %s: %w", path, err)
			}
			if st.Mode()&fs.ModeSymlink != 0 {
				return fmt.Errorf("cannot restore into %s: it is a symbolic link, and a restore never writes through one below a data directory: replace it with the directory it points to", path)
			}
		}
	}
	return nil
}

// mkdirBelow creates the directory rel (a local path) below root one
// element at a time, and refuses to pass through anything but a real
// directory, so that what it creates lies below root whatever root held.
// made remembers the directories already checked.
func mkdirBelow(root, rel string, made map[string]bool) error {
	dir := root
	for _, e := range strings.Split(filepath.ToSlash(rel), "/") {
		dir = filepath.Join(dir, e)
		if made[dir] {
			continue
		}
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cannot create directory %s: %w", dir, err)
		}
		st, err := os.Lstat(dir)
		if err != nil {
			return fmt.Errorf("cannot create directory %s: %w", dir, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("cannot create directory %s: something else is there (%v), and a restore never writes through it", dir, st.Mode().Type())
		}
		made[dir] = true
	}
	return nil
}

// belowDataDir reports whether rel, a path below a staging directory
// (<catalog>/data/...), lies below the catalog's data directory.
func belowDataDir(rel string) bool {
	return strings.Count(filepath.ToSlash(rel), "/") >= 2
}
