package repository

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/banyan-backup/banyan-backup/internal/parallel"
	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// copyGap is the largest run of unneeded bytes between two blobs of one
// pack that a copy reads through rather than asking for a new range.
const copyGap = 1 << 20

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

// CopyOptions tune Copy.
type CopyOptions struct {
	// Workers reading the source's packs at once; 0 means 2.
	Workers  int
	Progress progress.Reporter
}

// Copy reads the planned blobs from the source, checks each against its
// hash, and stores it through dst (a saver of the destination) as it is
// stored in the source: compressed blobs are not decompressed and
// compressed again. Ranges of a pack are read whole when the blobs in it
// lie less than copyGap apart. A blob that does not match its hash fails
// the copy with ErrIntegrity; what dst stored until then stays unnamed by
// any manifest.
func (c *CopySource) Copy(ctx context.Context, p *CopyPlan, dst *Saver, opts CopyOptions) error {
	rep := progress.OrNop(opts.Progress)
	rep.Start("copy", p.Trees+p.Blobs, p.StoredBytes)
	defer rep.Done()
	n := opts.Workers
	if n <= 0 {
		n = 2
	}
	return parallel.ForEach(ctx, n, copyRuns(p.blobs), func() func(context.Context, []Location) error {
		w := &copyWorker{src: c.r, dst: dst, rep: rep}
		return w.run
	})
}

// copyRuns splits blobs, sorted by pack and offset, into runs that one
// read of a pack's range serves.
func copyRuns(blobs []Location) [][]Location {
	var runs [][]Location
	start := 0
	for i := 1; i <= len(blobs); i++ {
		if i < len(blobs) {
			prev, cur := blobs[i-1], blobs[i]
			if cur.Pack == prev.Pack && int64(cur.Offset)-int64(prev.Offset)-int64(prev.Length) <= copyGap {
				continue
			}
		}
		runs = append(runs, blobs[start:i])
		start = i
	}
	return runs
}

// copyWorker copies runs of blobs, with buffers of its own.
type copyWorker struct {
	src    *Repository
	dst    *Saver
	rep    progress.Reporter
	stored []byte
	raw    []byte
}

// run reads one range of a source pack and stores each blob in it.
func (w *copyWorker) run(ctx context.Context, run []Location) error {
	pack := run[0].Pack
	first, last := int64(run[0].Offset), run[len(run)-1]
	rc, err := w.src.be.Get(ctx, packName(pack), first, int64(last.Offset)+int64(last.Length)-first)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: pack %s of %s is missing", ErrIntegrity, pack.Short(), w.src.Location())
		}
		return fmt.Errorf("cannot read pack %s: %w", pack.Short(), err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	pos := first
	for _, loc := range run {
		if _, err := io.CopyN(io.Discard, br, int64(loc.Offset)-pos); err != nil {
			return w.short(pack, err)
		}
		if cap(w.stored) < int(loc.Length) {
			w.stored = make([]byte, loc.Length)
		}
		stored := w.stored[:loc.Length]
		if _, err := io.ReadFull(br, stored); err != nil {
			return w.short(pack, err)
		}
		pos = int64(loc.Offset) + int64(loc.Length)
		if loc.compressed() && cap(w.raw) < int(loc.RawLength) {
			w.raw = make([]byte, 0, loc.RawLength)
		}
		if _, err := w.src.decodeBlob(loc, stored, w.raw); err != nil {
			return err
		}
		if _, err := w.dst.SaveStored(ctx, loc.PackedBlob, stored); err != nil {
			return err
		}
		w.rep.Advance(1, int64(loc.Length))
	}
	return nil
}

func (w *copyWorker) short(pack ID, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: pack %s is shorter than its index says", ErrIntegrity, pack.Short())
	}
	return fmt.Errorf("cannot read pack %s: %w", pack.Short(), err)
}

// SaveStored stores a blob of another repository as it is stored there
// (b says its type, id, lengths and compression), unless this repository
// has it; it reports whether it was added. stored is not kept after
// SaveStored returns. The caller has checked stored against b.ID.
func (s *Saver) SaveStored(ctx context.Context, b PackedBlob, stored []byte) (bool, error) {
	if int(b.Length) != len(stored) {
		return false, fmt.Errorf("cannot save blob %s: %d stored bytes, want %d", b.ID.Short(), len(stored), b.Length)
	}
	if !s.claim(b.ID) {
		return false, nil
	}
	if err := s.append(ctx, b.Type, b.ID, stored, int(b.RawLength), b.compressed()); err != nil {
		return false, err
	}
	return true, nil
}
