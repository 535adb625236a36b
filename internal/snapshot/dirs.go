package snapshot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/parallel"
)

// namePattern is a snapshot name as BanyanDB makes them: the UTC time
// (YYYYMMDDhhmmss), a dash and an 8 hex digit sequence number.
var namePattern = regexp.MustCompile(`^[0-9]{14}-[0-9A-Fa-f]{8}$`)

// ValidName reports whether name has the form of a snapshot name,
// <14 digits>-<8 hex digits>.
func ValidName(name string) bool { return namePattern.MatchString(name) }

// Dir returns the directory that holds snapshot t in the layout of its
// catalog's data dir, so that it can stand in for <root>/<catalog>/data:
// <catalog root>/<catalog>/snapshots/<name> for measure, stream and trace,
// and <catalog root>/<catalog>/snapshots/<name>/data for property and
// schema-property. It does not check t.
func Dir(roots banyandb.Roots, t Taken) string {
	d := SnapshotDir(roots, t)
	if t.Catalog.HasSegments() {
		return d
	}
	return filepath.Join(d, "data")
}

// SnapshotDir returns the top directory of snapshot t, the one to delete
// afterwards: <catalog root>/<catalog>/snapshots/<name>. It does not check
// t.
func SnapshotDir(roots banyandb.Roots, t Taken) string {
	return filepath.Join(roots.SnapshotsDir(t.Catalog), t.Name)
}

// Remove deletes the snapshot directories of taken and nothing else. A
// Taken without a name is skipped; one whose catalog is unknown, whose name
// is not a snapshot name (<14 digits>-<8 hex digits>) or whose catalog root
// is not set is refused. It goes on after a failure and returns the first
// error.
func Remove(roots banyandb.Roots, taken []Taken) error {
	var first error
	for _, t := range taken {
		if t.Name == "" {
			continue
		}
		if err := remove(roots, t); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// remove deletes the directory of one snapshot.
func remove(roots banyandb.Roots, t Taken) error {
	switch {
	case !t.Catalog.Valid():
		return fmt.Errorf("cannot remove snapshot %q: unknown catalog %q", t.Name, t.Catalog)
	case !ValidName(t.Name):
		return fmt.Errorf("cannot remove %s snapshot %q: not a snapshot name (<14 digits>-<8 hex digits>)", t.Catalog, t.Name)
	case roots.CatalogRoot(t.Catalog) == "":
		return fmt.Errorf("cannot remove %s snapshot %s: no root for catalog %s", t.Catalog, t.Name, t.Catalog)
	}
	parent := roots.SnapshotsDir(t.Catalog)
	dir := SnapshotDir(roots, t)
	if filepath.Dir(dir) != parent {
		return fmt.Errorf("cannot remove %s snapshot %s: %s is not directly under %s", t.Catalog, t.Name, dir, parent)
	}
	info, err := os.Lstat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cannot remove %s snapshot: %w", t.Catalog, err)
	case !info.IsDir():
		return fmt.Errorf("cannot remove %s snapshot: %s is not a directory", t.Catalog, dir)
	}
	if err := removeTree(dir); err != nil {
		return fmt.Errorf("cannot remove %s snapshot: %w", t.Catalog, err)
	}
	return nil
}

// removeWorkers is how many subtrees of a snapshot are deleted at once: a
// snapshot has an entry per file of the node, and unlinking waits on the
// filesystem, not the CPU.
const removeWorkers = 16

// removeTree deletes dir, the subtrees two levels down (a group's segments
// or shards) in parallel.
func removeTree(dir string) error {
	var subtrees []string
	groups, _ := os.ReadDir(dir)
	for _, g := range groups {
		if !g.IsDir() {
			continue
		}
		ents, _ := os.ReadDir(filepath.Join(dir, g.Name()))
		for _, e := range ents {
			subtrees = append(subtrees, filepath.Join(dir, g.Name(), e.Name()))
		}
	}
	err := parallel.ForEach(context.Background(), removeWorkers, subtrees, func() func(context.Context, string) error {
		return func(_ context.Context, p string) error { return os.RemoveAll(p) }
	})
	if err != nil {
		return err
	}
	return os.RemoveAll(dir)
}
