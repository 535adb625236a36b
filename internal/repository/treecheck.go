package repository

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/banyan-backup/banyan-backup/internal/parallel"
)

// Limits on a backup's trees (repository-format.md, "Valid trees"). A
// backup that exceeds them is refused by the backup that would write it
// and by every reader.
const (
	// MaxTreeDepth is how deep an entry may lie: a catalog directory in
	// the root tree is at depth 1, a part's file at about 6.
	MaxTreeDepth = 64
	// MaxTreeNodes is how many entries a backup's trees may name in all,
	// a subtree counted each time a directory names it: ten million, a
	// hundred times the files of a node holding thirty days of daily
	// segments in a hundred groups.
	MaxTreeNodes = 10_000_000
)

// TreeError is an entry of a backup's trees that no valid backup holds.
// It wraps ErrIntegrity.
type TreeError struct {
	// Dir is the slash path of the directory holding the entry ("" for
	// the root tree); every name in it is valid.
	Dir string
	// Problem names the entry and says what is wrong with it.
	Problem string
}

func (e *TreeError) Error() string {
	if e.Dir == "" {
		return fmt.Sprintf("%v: %s", ErrIntegrity, e.Problem)
	}
	return fmt.Sprintf("%v: %s: %s", ErrIntegrity, e.Dir, e.Problem)
}

// Unwrap makes errors.Is(err, ErrIntegrity) true.
func (e *TreeError) Unwrap() error { return ErrIntegrity }

// CheckName returns why name is not a valid entry name, or nil: a valid
// name is one path element on every platform, neither empty nor . or ..,
// without a slash, a backslash or a NUL byte.
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("name is empty")
	case name == "." || name == "..":
		return errors.New(`name is "." or ".."`)
	case strings.ContainsAny(name, `/\`):
		return errors.New("name holds a path separator")
	case strings.IndexByte(name, 0) >= 0:
		return errors.New("name holds a NUL byte")
	}
	return nil
}

// IsCatalogName reports whether name is one of the catalogs that the root
// tree may hold.
func IsCatalogName(name string) bool {
	switch name {
	case "measure", "stream", "trace", "property", "schema-property":
		return true
	}
	return false
}

// Mode bits a node may have beside the permissions: a directory its type
// bit, and setgid and sticky as the source had them (restores set only the
// permissions).
const (
	dirModeBits  = fs.ModeDir | fs.ModeSetgid | fs.ModeSticky | fs.ModePerm
	fileModeBits = fs.ModePerm
)

// RecordedMode returns the part of a file or directory's mode that a
// backup records: the directory bit, setgid and sticky of a directory,
// and the permissions.
func RecordedMode(m fs.FileMode) fs.FileMode {
	if m.IsDir() {
		return m & dirModeBits
	}
	return m & fileModeBits
}

// blobSizer returns a blob's raw length, false when no index names it.
type blobSizer func(ID) (int64, bool)

// checkEntries applies the rules of repository-format.md, "Valid trees",
// to one tree's entries: names, order, types, modes and, when sizeOf is
// set, that each file's size is the sum of its blobs' raw lengths (blobs
// that no index names are left to the caller). root applies the root
// tree's rule: catalog directories only.
func checkEntries(t *Tree, root bool, sizeOf blobSizer) error {
	for i := range t.Entries {
		n := &t.Entries[i]
		if err := CheckName(n.Name); err != nil {
			return entryError(n.Name, err.Error())
		}
		if i > 0 {
			switch prev := t.Entries[i-1].Name; {
			case prev == n.Name:
				return entryError(n.Name, "name appears twice")
			case prev > n.Name:
				return entryError(n.Name, "entries are not sorted by name")
			}
		}
		if root && (n.Type != NodeDir || !IsCatalogName(n.Name)) {
			return entryError(n.Name, "the root tree holds only catalog directories")
		}
		if why := checkNode(n, sizeOf); why != "" {
			return entryError(n.Name, why)
		}
	}
	return nil
}

func entryError(name, why string) error {
	return errors.New("entry " + strconv.Quote(name) + ": " + why)
}

// checkNode returns what is wrong with one node's type, mode and size.
func checkNode(n *Node, sizeOf blobSizer) string {
	switch n.Type {
	case NodeDir:
		switch {
		case n.Mode&^dirModeBits != 0 || !n.Mode.IsDir():
			return fmt.Sprintf("directory mode %d has bits besides the directory bit, setgid, sticky and the permissions", uint32(n.Mode))
		case n.Subtree == nil:
			return "directory has no subtree"
		case len(n.Blobs) > 0:
			return "directory has blobs"
		}
	case NodeFile:
		switch {
		case n.Mode&^fileModeBits != 0:
			return fmt.Sprintf("file mode %d has bits besides the permissions", uint32(n.Mode))
		case n.Subtree != nil:
			return "file has a subtree"
		case n.Size < 0:
			return fmt.Sprintf("size %d is negative", n.Size)
		}
		if sizeOf == nil {
			return ""
		}
		var sum int64
		for _, id := range n.Blobs {
			size, ok := sizeOf(id)
			if !ok {
				return "" // verify and restore report the blob
			}
			sum += size
		}
		if sum != n.Size {
			return fmt.Sprintf("size %d is not the %d bytes its blobs hold", n.Size, sum)
		}
	default:
		return fmt.Sprintf("unknown type %q", n.Type)
	}
	return ""
}

// treeCheck checks a backup's trees once each: the rules of checkEntries
// and the limits on depth and entries. A tree used twice is checked once;
// its entries are counted each time.
//
// It keeps the trees it decodes, up to treeCacheBytes of them, for the
// walk that follows, which would otherwise decode every tree a second
// time (decoding is most of a walk's cost).
type treeCheck struct {
	r *Repository
	// seen holds the trees checked: the entries below each, counting
	// repeats, and its height (the depth of its deepest entry below it).
	seen map[ID]treeStats
	// trees holds decoded trees for the walk, cached the bytes of their
	// blobs; uses counts the walk's visits still to come of each tree.
	trees  map[ID]*Tree
	uses   map[ID]int
	cached int64
	// loaded holds trees decoded ahead of the check (preload), each
	// until the check takes it; preloadBytes bounds them by the size of
	// their blobs.
	loaded       map[ID]*Tree
	preloadBytes int64
}

// treeCacheBytes bounds the trees a treeCheck keeps for the walk, by the
// size of their blobs: the trees of some 60,000 files.
const treeCacheBytes = 16 << 20

type treeStats struct {
	nodes  int64
	height int
}

func newTreeCheck(r *Repository) *treeCheck {
	return &treeCheck{r: r, seen: map[ID]treeStats{}, trees: map[ID]*Tree{}, uses: map[ID]int{}, loaded: map[ID]*Tree{}, preloadBytes: treeCacheBytes}
}

func (c *treeCheck) sizeOf(id ID) (int64, bool) {
	loc, ok := c.r.index.Lookup(id)
	return int64(loc.RawLength), ok
}

// backup checks every tree below the root tree id.
func (c *treeCheck) backup(ctx context.Context, root ID) error {
	c.preload(ctx, root)
	_, err := c.tree(ctx, root, "", 0)
	clear(c.loaded) // trees the check never reached (it failed first)
	return err
}

// preload decodes the trees below root on every CPU, a level of the
// directory tree at a time, until their blobs add up to preloadBytes:
// decoding is most of the check's cost, and the check itself goes one
// tree at a time. A tree that cannot be loaded is left to the check,
// which reports it where it is used.
func (c *treeCheck) preload(ctx context.Context, root ID) {
	var (
		mu     sync.Mutex
		budget = c.preloadBytes
		queued = map[ID]bool{root: true}
	)
	level := []ID{root}
	for len(level) > 0 && budget > 0 {
		var next []ID
		err := parallel.ForEach(ctx, runtime.GOMAXPROCS(0), level, func() func(context.Context, ID) error {
			return func(ctx context.Context, id ID) error {
				size, _ := c.sizeOf(id)
				mu.Lock()
				if budget < size {
					mu.Unlock()
					return nil
				}
				budget -= size
				mu.Unlock()
				t, err := c.r.LoadTree(ctx, id)
				if err != nil {
					return nil
				}
				mu.Lock()
				defer mu.Unlock()
				c.loaded[id] = t
				for i := range t.Entries {
					if sub := t.Entries[i].Subtree; t.Entries[i].Type == NodeDir && sub != nil && !queued[*sub] {
						queued[*sub] = true
						next = append(next, *sub)
					}
				}
				return nil
			}
		})
		if err != nil {
			return // ctx ended: the check stops too
		}
		level = next
	}
}

// tree checks the tree id, whose entries lie at depth+1 below the root,
// and returns its stats. A tree that cannot be loaded counts as empty and
// is left to the walk, which reports it where it is used.
func (c *treeCheck) tree(ctx context.Context, id ID, dir string, depth int) (treeStats, error) {
	c.uses[id]++
	if s, ok := c.seen[id]; ok {
		return s, c.limits(dir, depth, s)
	}
	if err := ctx.Err(); err != nil {
		return treeStats{}, err
	}
	t, ok := c.loaded[id]
	if ok {
		delete(c.loaded, id)
	} else {
		var err error
		if t, err = c.r.LoadTree(ctx, id); err != nil {
			return treeStats{}, nil
		}
	}
	if err := checkEntries(t, depth == 0, c.sizeOf); err != nil {
		return treeStats{}, &TreeError{Dir: dir, Problem: err.Error()}
	}
	c.keep(id, t)
	s := treeStats{nodes: int64(len(t.Entries))}
	if len(t.Entries) > 0 {
		s.height = 1
	}
	if err := c.limits(dir, depth, s); err != nil {
		return treeStats{}, err
	}
	for i := range t.Entries {
		n := &t.Entries[i]
		if n.Type != NodeDir {
			continue
		}
		sub, err := c.tree(ctx, *n.Subtree, joinPath(dir, n.Name), depth+1)
		if err != nil {
			return treeStats{}, err
		}
		s.nodes += sub.nodes
		s.height = max(s.height, sub.height+1)
		if err := c.limits(dir, depth, s); err != nil {
			return treeStats{}, err
		}
	}
	c.seen[id] = s
	return s, nil
}

// keep caches a decoded tree for the walk while the cache has room.
func (c *treeCheck) keep(id ID, t *Tree) {
	size, _ := c.sizeOf(id)
	if c.cached+size <= treeCacheBytes {
		c.trees[id] = t
		c.cached += size
	}
}

// load returns the tree id for the walk: the cached one at its last
// visit (dropping it from the cache), else a fresh decode, so that fn
// never sees a tree another visit saw.
func (c *treeCheck) load(ctx context.Context, id ID) (*Tree, error) {
	c.uses[id]--
	if t, ok := c.trees[id]; ok && c.uses[id] <= 0 {
		delete(c.trees, id)
		return t, nil
	}
	return c.r.LoadTree(ctx, id)
}

// limits checks a tree's stats at a depth against MaxTreeDepth and
// MaxTreeNodes.
func (c *treeCheck) limits(dir string, depth int, s treeStats) error {
	if depth+s.height > MaxTreeDepth {
		return &TreeError{Dir: dir, Problem: fmt.Sprintf("directories nest more than %d levels deep", MaxTreeDepth)}
	}
	if s.nodes > MaxTreeNodes {
		return &TreeError{Problem: fmt.Sprintf("the trees name more than %d entries (counting a directory's entries each time a directory names it)", MaxTreeNodes)}
	}
	return nil
}

// checked checks a tree the walk loaded that the first pass did not (it
// could not load it then).
func (c *treeCheck) checked(t *Tree, id ID, dir string, depth int) error {
	if _, ok := c.seen[id]; ok {
		return nil
	}
	if err := checkEntries(t, depth == 0, c.sizeOf); err != nil {
		return &TreeError{Dir: dir, Problem: err.Error()}
	}
	c.seen[id] = treeStats{nodes: int64(len(t.Entries))}
	return nil
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}
