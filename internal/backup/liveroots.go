package backup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// ErrRootMismatch is wrapped by the error of a live backup whose roots are
// not the node's: the node's snapshot does not land under them. It is the
// user's to fix (--root, or the per-catalog roots).
var ErrRootMismatch = errors.New("the root does not match the node")

// rootHint says what the roots of a live backup must be.
const rootHint = "--root (or --<catalog>-root) must be the directory the node was given as its root path, where its snapshots land"

// checkLiveRoots checks, before the node is asked for a snapshot, that the
// roots can be the node's: each catalog root holds the data directory of one
// of the selected catalogs at least, and when the roots hold group lock
// files, a running server holds one of them (a running node holds its
// groups' locks; docs/banyandb.md). A copy of a root, or the root of a
// stopped node, is refused here, before the node makes a snapshot that would
// land elsewhere. Locks that cannot be probed are not held against the
// roots.
func checkLiveRoots(node string, roots banyandb.Roots, catalogs []banyandb.Catalog) error {
	if len(catalogs) == 0 {
		catalogs = banyandb.AllCatalogs()
	}
	byRoot := map[string][]banyandb.Catalog{}
	var order []string
	for _, c := range catalogs {
		r := roots.CatalogRoot(c)
		if _, ok := byRoot[r]; !ok {
			order = append(order, r)
		}
		byRoot[r] = append(byRoot[r], c)
	}
	for _, r := range order {
		if !anyDataDir(roots, byRoot[r]) {
			return fmt.Errorf("cannot back up node %s: %w: %s holds no %s: %s", node, ErrRootMismatch,
				r, dataDirNames(byRoot[r]), rootHint)
		}
	}
	files, held, err := banyandb.ProbeLocks(roots, catalogs)
	if err == nil && len(files) > 0 && len(held) == 0 {
		return fmt.Errorf("cannot back up node %s: %w: no running server holds the group locks under the roots (%s): "+
			"they are a copy or a stopped node's; %s", node, ErrRootMismatch, files[0], rootHint)
	}
	return nil
}

// anyDataDir reports whether the data directory of one of cats exists.
func anyDataDir(roots banyandb.Roots, cats []banyandb.Catalog) bool {
	for _, c := range cats {
		if info, err := os.Stat(roots.DataDir(c)); err == nil && info.IsDir() {
			return true
		}
	}
	return false
}

// dataDirNames lists "<catalog>/data" of cats, for messages.
func dataDirNames(cats []banyandb.Catalog) string {
	names := make([]string, 0, len(cats))
	for _, c := range cats {
		names = append(names, string(c)+"/data")
	}
	return strings.Join(names, ", ")
}

// checkTakenUnderRoots checks, once the node has answered, that its
// snapshot is under the roots: for each catalog root, one of the snapshot
// directories the node named (without an error) must be there, unless none
// of that root's catalogs has a group holding a segment or a shard (then the
// node makes no directory: docs/banyandb.md, Snapshots). The error names the
// snapshots that are not under the roots: they are under the node's own
// root, which the backup does not know, and are left there.
func checkTakenUnderRoots(node string, roots banyandb.Roots, taken []snapshot.Taken, groups []string) error {
	byRoot := map[string][]snapshot.Taken{}
	var order []string
	for _, t := range taken {
		if t.Failed() || t.Name == "" {
			continue
		}
		r := roots.CatalogRoot(t.Catalog)
		if _, ok := byRoot[r]; !ok {
			order = append(order, r)
		}
		byRoot[r] = append(byRoot[r], t)
	}
	for _, r := range order {
		ts := byRoot[r]
		found, withData := false, false
		for _, t := range ts {
			if _, err := os.Lstat(snapshot.SnapshotDir(roots, t)); err == nil {
				found = true
			}
			gs := groups
			if t.Catalog == banyandb.SchemaProperty {
				gs = nil // its group is always in the snapshot
			}
			withData = withData || holdsGroupData(roots.DataDir(t.Catalog), gs)
		}
		if found || !withData {
			continue
		}
		var missing []string
		for _, t := range ts {
			missing = append(missing, string(t.Catalog)+"/snapshots/"+t.Name)
		}
		return fmt.Errorf("cannot back up node %s: %w: the node's snapshot is not under %s (no %s there): %s; "+
			"the node's snapshot is left under its own root: remove %s there", node, ErrRootMismatch, r,
			filepath.Join(string(ts[0].Catalog), "snapshots", ts[0].Name), rootHint, strings.Join(missing, ", "))
	}
	return nil
}

// holdsGroupData reports whether a data directory has a group (one of
// groups, or any) holding a segment or a shard directory.
func holdsGroupData(dataDir string, groups []string) bool {
	ents, err := os.ReadDir(dataDir)
	if err != nil {
		return false
	}
	for _, g := range ents {
		if !g.IsDir() || (len(groups) > 0 && !slices.Contains(groups, g.Name())) {
			continue
		}
		sub, err := os.ReadDir(filepath.Join(dataDir, g.Name()))
		if err != nil {
			continue
		}
		for _, e := range sub {
			if e.IsDir() && (strings.HasPrefix(e.Name(), banyandb.SegmentPrefix) || strings.HasPrefix(e.Name(), "shard-")) {
				return true
			}
		}
	}
	return false
}
