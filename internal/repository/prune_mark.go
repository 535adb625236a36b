package repository

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/banyan-backup/banyan-backup/internal/progress"
)

// pruneTreeCache bounds the tree packs prune keeps in memory while it
// walks the trees (Repository.LoadTree keeps every tree pack it reads).
const pruneTreeCache = 32 << 20

// markUsed walks every backup's trees and returns the set of blobs (trees
// and data) they use. A tree met before is not walked again, so the work is
// proportional to the distinct trees, not to the number of backups. It
// fails with ErrIntegrity when a backup needs a blob no index names.
// Manifests are read one at a time.
func (r *Repository) markUsed(ctx context.Context, backups []ID, rep progress.Reporter) (map[ID]struct{}, error) {
	rep.Start("mark", int64(len(backups)), 0)
	defer rep.Done()
	m := &marker{r: r, used: map[ID]struct{}{}, walked: map[ID]struct{}{},
		cache: &treePackCache{r: r, budget: pruneTreeCache, packs: map[ID][]byte{}}}
	for _, id := range backups {
		man, err := r.LoadManifest(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("%w; prune changed nothing", err)
		}
		if err := m.tree(ctx, man.Tree, ""); err != nil {
			return nil, fmt.Errorf("%w; backup %s cannot be fully read: run `banyan-backup verify`; prune changed nothing", err, id.Short())
		}
		rep.Advance(1, 0)
	}
	return m.used, nil
}

type marker struct {
	r      *Repository
	used   map[ID]struct{} // blobs used
	walked map[ID]struct{} // trees walked (a data blob could equal a tree)
	cache  *treePackCache
}

func (m *marker) use(id ID, path string) error {
	if !m.r.index.Has(id) {
		if path == "" {
			path = "/"
		}
		return fmt.Errorf("%w: blob %s of %s is in no index", ErrIntegrity, id.Short(), path)
	}
	m.used[id] = struct{}{}
	return nil
}

func (m *marker) tree(ctx context.Context, id ID, path string) error {
	if _, ok := m.walked[id]; ok {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := m.use(id, path); err != nil {
		return err
	}
	t, err := m.cache.loadTree(ctx, id)
	if err != nil {
		return err
	}
	m.walked[id] = struct{}{}
	for i := range t.Entries {
		n := &t.Entries[i]
		p := path + "/" + n.Name
		for _, b := range n.Blobs {
			if err := m.use(b, p); err != nil {
				return err
			}
		}
		if n.Type == NodeDir && n.Subtree != nil {
			if err := m.tree(ctx, *n.Subtree, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// treePackCache holds recently read tree packs up to budget bytes (at
// least one pack), evicting the least recently used.
type treePackCache struct {
	r      *Repository
	budget int
	size   int
	packs  map[ID][]byte
	order  []ID // least recently used first
}

func (c *treePackCache) loadTree(ctx context.Context, id ID) (*Tree, error) {
	loc, ok := c.r.index.Lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w: tree %s is in no index", ErrIntegrity, id.Short())
	}
	if loc.Type != TreeBlob {
		return nil, fmt.Errorf("%w: tree %s is indexed as a %s blob", ErrIntegrity, id.Short(), loc.Type)
	}
	pack, err := c.pack(ctx, loc.Pack)
	if err != nil {
		return nil, err
	}
	end := uint64(loc.Offset) + uint64(loc.Length)
	if end > uint64(len(pack)) {
		return nil, fmt.Errorf("%w: pack %s is shorter than its index says", ErrIntegrity, loc.Pack.Short())
	}
	stored := pack[loc.Offset:end:end]
	if c.r.codec.seal != nil { // decodeBlob decrypts in place: not in the cached pack
		stored = bytes.Clone(stored)
	}
	raw, err := c.r.decodeBlob(loc, stored, nil)
	if err != nil {
		return nil, err
	}
	var t Tree
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("%w: tree %s is not valid: %v", ErrIntegrity, id.Short(), err)
	}
	return &t, nil
}

func (c *treePackCache) pack(ctx context.Context, id ID) ([]byte, error) {
	if p, ok := c.packs[id]; ok {
		i := slices.Index(c.order, id)
		c.order = append(append(c.order[:i:i], c.order[i+1:]...), id)
		return p, nil
	}
	p, err := c.r.readTreePack(ctx, id)
	if err != nil {
		return nil, err
	}
	for len(c.order) > 0 && c.size+len(p) > c.budget {
		old := c.order[0]
		c.order = c.order[1:]
		c.size -= len(c.packs[old])
		delete(c.packs, old)
	}
	c.packs[id] = p
	c.order = append(c.order, id)
	c.size += len(p)
	return p, nil
}
