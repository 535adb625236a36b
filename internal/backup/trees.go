package backup

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/parallel"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// buildTrees stores one tree per directory, deepest first, on workers
// goroutines, and returns the root tree: one entry per catalog, whose
// subtree is its data directory.
//
// A part directory the scan reused keeps the parent backup's subtree. An
// empty catalog (a live backup's catalog without groups, which has no
// snapshot directory) is an empty directory, with the mode and time of the
// catalog's data directory if there is one.
func buildTrees(ctx context.Context, saver *repository.Saver, roots banyandb.Roots, layout *banyandb.Layout, files []repository.Node,
	prev *previous, empty []banyandb.Catalog, workers int) (repository.ID, error) {
	if err := checkLimits(layout, prev); err != nil {
		return repository.ID{}, err
	}
	entries := map[string][]repository.Node{} // dir path in the root tree → entries
	dirs := map[string]repository.Node{}      // dir path → its own node (without subtree yet)
	for _, c := range layout.Catalogs {
		p := string(c)
		n := repository.Node{Name: p, Type: repository.NodeDir, Mode: fs.ModeDir | 0o755}
		st, err := os.Stat(roots.DataDir(c))
		switch {
		case err == nil:
			n.Mode, n.ModTime = repository.RecordedMode(st.Mode()), st.ModTime().UTC()
		case !slices.Contains(empty, c):
			return repository.ID{}, fmt.Errorf("cannot read %s: %w", roots.DataDir(c), err)
		}
		dirs[p] = n
		entries[p] = nil
	}
	for _, d := range layout.Dirs {
		p := nodePath(d.Catalog, d.Path)
		if d.Reused {
			n := *prev.parts[p]
			n.Mode, n.UID, n.GID = repository.RecordedMode(d.Mode), d.Owner.UID, d.Owner.GID
			entries[path.Dir(p)] = append(entries[path.Dir(p)], n)
			continue
		}
		dirs[p] = repository.Node{Name: path.Base(d.Path), Type: repository.NodeDir, Mode: repository.RecordedMode(d.Mode), ModTime: d.ModTime.UTC(), Inode: d.Inode, UID: d.Owner.UID, GID: d.Owner.GID}
		if _, ok := entries[p]; !ok {
			entries[p] = nil
		}
	}
	for _, s := range layout.Segments {
		p := nodePath(s.Catalog, s.Path())
		if n, ok := dirs[p]; ok {
			n.Segment = &repository.SegmentInfo{Start: s.Start.UTC(), End: s.End.UTC(), EndKnown: s.EndKnown, Version: s.Version}
			dirs[p] = n
		}
	}
	markers := partMarkers(layout)
	for _, pt := range layout.Parts {
		p := nodePath(pt.Catalog, pt.Path)
		if n, ok := dirs[p]; ok && pt.Meta != nil {
			n.Part = &repository.PartInfo{MinTimestamp: pt.Meta.MinTimestamp, MaxTimestamp: pt.Meta.MaxTimestamp,
				TotalCount: pt.Meta.TotalCount, CompressedSize: pt.Meta.CompressedSizeBytes, Marker: markers[p]}
			dirs[p] = n
		}
	}
	for i, f := range layout.Files {
		p := nodePath(f.Catalog, f.Path)
		parent := path.Dir(p)
		entries[parent] = append(entries[parent], files[i])
	}
	root, err := saveDirTrees(ctx, saver, workers, entries, dirs)
	if err != nil {
		return repository.ID{}, err
	}
	id, _, err := saver.SaveTree(ctx, &root, &repository.Scratch{})
	return id, err
}

// saveDirTrees stores the tree of every directory in entries, a level at a
// time from the deepest, so that each subtree's id is known before its
// parent's tree: the directories of one level are encoded and stored on n
// goroutines, then each joins its parent's entries. It returns the root
// tree's entries (the catalogs), sorted. Trees are the same whatever n is:
// entries are sorted by name before encoding.
func saveDirTrees(ctx context.Context, saver *repository.Saver, n int, entries map[string][]repository.Node,
	dirs map[string]repository.Node) (repository.Tree, error) {
	levels := map[int][]string{}
	deepest := 0
	for p := range entries {
		d := strings.Count(p, "/")
		levels[d] = append(levels[d], p)
		deepest = max(deepest, d)
	}
	var root repository.Tree
	for d := deepest; d >= 0; d-- {
		level := levels[d]
		sort.Strings(level) // in name order, as one worker stores them
		done := make([]repository.Node, len(level))
		at := make(map[string]int, len(level))
		for i, p := range level {
			at[p] = i
		}
		err := parallel.ForEach(ctx, n, level, func() func(context.Context, string) error {
			scratch := &repository.Scratch{}
			return func(ctx context.Context, p string) error {
				node, err := saveDirTree(ctx, saver, scratch, dirs[p], entries[p])
				if err != nil {
					return fmt.Errorf("cannot back up directory %s: %w", p, err)
				}
				done[at[p]] = node
				return nil
			}
		})
		if err != nil {
			return repository.Tree{}, err
		}
		for i, p := range level {
			if parent := path.Dir(p); parent != "." {
				entries[parent] = append(entries[parent], done[i])
			} else {
				root.Entries = append(root.Entries, done[i])
			}
		}
	}
	sort.Slice(root.Entries, func(i, j int) bool { return root.Entries[i].Name < root.Entries[j].Name })
	return root, nil
}

// saveDirTree stores the tree of the directory n's entries es and returns
// n with its subtree and the sizes and files below it.
func saveDirTree(ctx context.Context, saver *repository.Saver, scratch *repository.Scratch, n repository.Node, es []repository.Node) (repository.Node, error) {
	sort.Slice(es, func(i, j int) bool { return es[i].Name < es[j].Name })
	id, _, err := saver.SaveTree(ctx, &repository.Tree{Entries: nonNil(es)}, scratch)
	if err != nil {
		return repository.Node{}, err
	}
	n.Subtree = &id
	for _, e := range es {
		n.Size += e.Size
		if e.Type == repository.NodeDir {
			n.Files += e.Files
		} else {
			n.Files++
		}
	}
	return n, nil
}

// partMarkers returns, by the part directory's path in the root tree, the
// identity of each listed part's commit marker, as the scan found it.
func partMarkers(layout *banyandb.Layout) map[string]*repository.FileID {
	out := map[string]*repository.FileID{}
	for _, f := range layout.Files {
		if name := path.Base(f.Path); f.Part != "" && (name == banyandb.PartMetadataFile || name == banyandb.SidxManifestFile) {
			out[nodePath(f.Catalog, path.Dir(f.Path))] = &repository.FileID{Inode: f.Inode, Size: f.Size, ModTime: f.ModTime.UTC()}
		}
	}
	return out
}

func nonNil(es []repository.Node) []repository.Node {
	if es == nil {
		return []repository.Node{}
	}
	return es
}

// checkLimits refuses a root whose trees no reader would accept
// (repository-format.md, "Valid trees"): entries deeper than
// MaxTreeDepth, or more than MaxTreeNodes of them. A reused part counts
// with the files it holds (parts hold no directories).
func checkLimits(layout *banyandb.Layout, prev *previous) error {
	nodes := int64(len(layout.Catalogs) + len(layout.Dirs) + len(layout.Files))
	deepest, depth := "", 0
	deeper := func(p string, d int) {
		if d > depth {
			deepest, depth = p, d
		}
	}
	for _, d := range layout.Dirs {
		p := nodePath(d.Catalog, d.Path)
		deeper(p, strings.Count(p, "/")+1)
		if d.Reused {
			nodes += prev.parts[p].Files
			deeper(p+"/…", strings.Count(p, "/")+2)
		}
	}
	for _, f := range layout.Files {
		p := nodePath(f.Catalog, f.Path)
		deeper(p, strings.Count(p, "/")+1)
	}
	if depth > repository.MaxTreeDepth {
		return fmt.Errorf("cannot back up %s: it lies %d levels deep, more than the %d a backup may hold", deepest, depth, repository.MaxTreeDepth)
	}
	if nodes > repository.MaxTreeNodes {
		return fmt.Errorf("cannot back up %d files and directories: more than the %d a backup may hold: back up fewer catalogs or groups at a time", nodes, repository.MaxTreeNodes)
	}
	return nil
}
