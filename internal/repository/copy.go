package repository

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
)

// copyTreeCache bounds the tree packs a copy keeps while it walks trees.
const copyTreeCache = 32 << 20

// CopySource reads the blobs of backups of this repository (the source)
// to store them, as they are stored here (compressed or not), in another
// repository (the destination) that shares its hash and chunking. Across the backups it
// plans, it walks each tree once and plans each blob once: the blobs of
// a backup planned before are in the destination by the time a later one
// is planned (a copy commits each backup before it plans the next), or,
// in a dry run, counted once. Not safe for concurrent use.
type CopySource struct {
	r      *Repository
	cache  *treePackCache
	walked map[ID]struct{}
	queued map[ID]struct{}
}

// NewCopySource starts copying from r.
func (r *Repository) NewCopySource() *CopySource {
	return &CopySource{r: r, cache: &treePackCache{r: r, budget: copyTreeCache, packs: map[ID][]byte{}},
		walked: map[ID]struct{}{}, queued: map[ID]struct{}{}}
}

// CopyPlan is the blobs of a backup that the destination lacks, in the
// order the source stores them.
type CopyPlan struct {
	blobs []Location
	CopyCounts
	// TreesRead counts the trees the plan read and decoded.
	TreesRead int64
}

// CopyCounts count the blobs of a copy: Trees and Blobs the tree and data
// blobs, StoredBytes what they take in the source's packs (and will in the
// destination's), RawBytes their uncompressed size.
type CopyCounts struct {
	Trees       int64 `json:"trees"`
	Blobs       int64 `json:"blobs"`
	StoredBytes int64 `json:"stored_bytes"`
	RawBytes    int64 `json:"raw_bytes"`
}

// CopyDest says what the destination of a copy holds.
type CopyDest struct {
	// Has reports whether the destination has a blob (its saver's Has,
	// or its index's).
	Has func(ID) bool
	// Base, if set, is the root tree of a backup the destination holds,
	// which this source holds too (the copied backup's parent, copied
	// before): the destination has every blob below it. Plan compares the
	// trees it walks with Base's at the same path and does not walk a
	// subtree that is the same there, so a backup that changed little
	// costs the reading of the trees that changed.
	Base *ID
}

// Plan walks the tree root and the trees below it and plans every tree
// and data blob the destination lacks. It fails with ErrIntegrity when the
// source lacks a blob or a tree pack is damaged.
func (c *CopySource) Plan(ctx context.Context, root ID, dest CopyDest) (*CopyPlan, error) {
	p := &CopyPlan{}
	if err := c.tree(ctx, root, dest.Base, "", dest.Has, p); err != nil {
		return nil, err
	}
	slices.SortFunc(p.blobs, func(a, b Location) int {
		if c := bytes.Compare(a.Pack[:], b.Pack[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.Offset, b.Offset)
	})
	return p, nil
}

// tree plans the tree id and what is below it; base is the destination's
// complete tree at the same path, if any.
func (c *CopySource) tree(ctx context.Context, id ID, base *ID, path string, has func(ID) bool, p *CopyPlan) error {
	if _, ok := c.walked[id]; ok || (base != nil && *base == id) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.need(id, path, has, p); err != nil {
		return err
	}
	t, err := c.cache.loadTree(ctx, id)
	if err != nil {
		return err
	}
	p.TreesRead++
	bases := c.subtrees(ctx, base)
	c.walked[id] = struct{}{}
	for i := range t.Entries {
		n := &t.Entries[i]
		sub := path + "/" + n.Name
		for _, b := range n.Blobs {
			if err := c.need(b, sub, has, p); err != nil {
				return err
			}
		}
		if n.Type == NodeDir && n.Subtree != nil {
			if err := c.tree(ctx, *n.Subtree, bases[n.Name], sub, has, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// subtrees maps the directory entries of the base tree to their subtrees;
// none when there is no base, or it cannot be read (it only saves work).
func (c *CopySource) subtrees(ctx context.Context, base *ID) map[string]*ID {
	if base == nil {
		return nil
	}
	t, err := c.cache.loadTree(ctx, *base)
	if err != nil {
		return nil
	}
	out := make(map[string]*ID, len(t.Entries))
	for i := range t.Entries {
		if n := &t.Entries[i]; n.Type == NodeDir && n.Subtree != nil {
			out[n.Name] = n.Subtree
		}
	}
	return out
}

// need plans blob id unless the destination has it or it is planned.
func (c *CopySource) need(id ID, path string, has func(ID) bool, p *CopyPlan) error {
	if _, ok := c.queued[id]; ok || has(id) {
		return nil
	}
	loc, ok := c.r.index.Lookup(id)
	if !ok {
		if path == "" {
			path = "/"
		}
		return fmt.Errorf("%w: blob %s of %s is in no index of %s", ErrIntegrity, id.Short(), path, c.r.Location())
	}
	c.queued[id] = struct{}{}
	p.blobs = append(p.blobs, loc)
	if loc.Type == TreeBlob {
		p.Trees++
	} else {
		p.Blobs++
	}
	p.StoredBytes += int64(loc.Length)
	p.RawBytes += int64(loc.RawLength)
	return nil
}
