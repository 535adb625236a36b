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
// to store them, as they are stored here, in another repository (the
// destination) that shares its hash and chunking. Across the backups it
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

// Plan walks the tree root and every tree below it and plans every tree
// and data blob that has (the destination's saver, or its index) reports
// missing. It fails with ErrIntegrity when the source lacks a blob or a
// tree pack is damaged.
func (c *CopySource) Plan(ctx context.Context, root ID, has func(ID) bool) (*CopyPlan, error) {
	p := &CopyPlan{}
	if err := c.tree(ctx, root, "", has, p); err != nil {
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

func (c *CopySource) tree(ctx context.Context, id ID, path string, has func(ID) bool, p *CopyPlan) error {
	if _, ok := c.walked[id]; ok {
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
			if err := c.tree(ctx, *n.Subtree, sub, has, p); err != nil {
				return err
			}
		}
	}
	return nil
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
