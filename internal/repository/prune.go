package repository

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// PruneOptions controls Prune.
type PruneOptions struct {
	// Scope says what is removed; the zero value is PruneUnused.
	Scope PruneScope
	// DryRun computes and reports what would be done, changing nothing.
	DryRun bool
	// MaxRepack bounds the bytes of live blobs copied out of partly used
	// packs (0: no bound); see boundRepack.
	MaxRepack int64
	Progress  progress.Reporter
}

// PruneScope says what Prune removes.
type PruneScope int

const (
	// PruneUnused removes every blob no backup needs, the manifests of
	// failed cluster backups, and packs in no index.
	PruneUnused PruneScope = iota
	// PruneDuplicates removes only the second copies of blobs stored
	// twice (two writers that stored the same blob at once, such as two
	// replicas of a part uploaded by two cluster agents): every indexed
	// blob is kept once, whether a backup needs it or not, nothing is
	// marked (no tree is read), and packs in no index are left alone.
	PruneDuplicates
)

// PruneResult counts what Prune found and did (with DryRun: would do).
type PruneResult struct {
	DryRun    bool `json:"dry_run"`
	Backups   int  `json:"backups"`
	BlobsUsed int  `json:"blobs_used"`
	// Packs stored before prune, and how prune treated them.
	Packs         int `json:"packs"`
	PacksKept     int `json:"packs_kept"`
	PacksRepacked int `json:"packs_repacked"` // partly used: live blobs copied, pack deleted
	// PacksRepackLater are partly used packs kept as they are because
	// repacking them too would exceed MaxRepack.
	PacksRepackLater int `json:"packs_repack_later"`
	PacksUnused      int `json:"packs_unused"`    // indexed, no blob used: deleted
	PacksUnindexed   int `json:"packs_unindexed"` // in no index (left by killed backups): deleted
	PacksDeleted     int `json:"packs_deleted"`
	PacksWritten     int `json:"packs_written"`
	// PacksMissing are indexed packs that are not stored and that no backup
	// needs: dropped from the index.
	PacksMissing      int   `json:"packs_missing"`
	IndexFilesWritten int   `json:"index_files_written"`
	IndexFilesDeleted int   `json:"index_files_deleted"`
	BytesRepacked     int64 `json:"bytes_repacked"` // live blob bytes copied into new packs
	// Repository size (packs and index files) before and after, and the
	// difference. With DryRun, BytesAfter is an estimate.
	BytesBefore int64 `json:"bytes_before"`
	BytesAfter  int64 `json:"bytes_after"`
	BytesFreed  int64 `json:"bytes_freed"`
	// OrphansRemoved counts the manifests of failed cluster backups
	// deleted (set.go, Orphans), whose data is then pruned.
	OrphansRemoved int `json:"orphans_removed,omitempty"`
}

// prunePlan is what Prune decided; its size is proportional to the number
// of packs, plus the live blobs of the packs to repack.
type prunePlan struct {
	stored     map[ID]int64      // packs under data/
	indexFiles map[ID]int64      // index files and their sizes
	keep       map[ID]struct{}   // indexed packs kept as they are
	repack     map[ID][]Location // partly used packs → live blobs in offset order
	remove     map[ID]int64      // indexed packs to delete (unused or repacked)
	unindexed  map[ID]int64      // stored packs no index names
	missing    int               // indexed, not stored, not needed
	liveSeen   int               // live blobs found in the index files
	repackLive int64             // stored bytes of the live blobs to copy
	later      int               // partly used packs kept (boundRepack)
	seen       map[ID]struct{}   // packs met in the index files
	used       map[ID]struct{}   // blobs the backups use
}

// Prune deletes the data no backup needs. lock must be an exclusive lock
// of r (so no backup runs meanwhile). Steps, ordered so that a crash at any
// point leaves a readable, consistent repository (docs/repository-format.md,
// "Forget and prune"):
//
//  0. in a repository with sets, delete the orphan manifests of cluster
//     backups that failed before their set was written;
//  1. mark every blob reachable from the manifests (trees walked one at a
//     time; memory: a set of blob ids);
//  2. classify packs by the index files: all blobs used (keep), none used
//     (delete), partly used (repack), in no index (delete);
//  3. copy the live blobs of partly used packs into new packs;
//  4. write new index files naming the kept and the new packs;
//  5. delete the index files they replace;
//  6. delete the unused, repacked and unindexed packs.
//
// Prune stops as soon as it finds its lock lost (lockheld.go): it checks
// the lock before writing the new index and before every deletion, and
// then fails with ErrLockLost.
func (r *Repository) Prune(ctx context.Context, lock *Lock, opts PruneOptions) (*PruneResult, error) {
	if err := r.checkExclusive(lock, "prune"); err != nil {
		return nil, err
	}
	ctx, cancel := lock.Context(ctx)
	defer cancel()
	res, err := r.prune(ctx, lock, opts)
	if lost := lock.Err(); err != nil && lost != nil {
		err = lost
	}
	return res, err
}

func (r *Repository) prune(ctx context.Context, lock *Lock, opts PruneOptions) (*PruneResult, error) {
	rep := progress.OrNop(opts.Progress)
	var (
		orphans, backups []ID
		used             map[ID]struct{} // nil: every indexed blob (PruneDuplicates)
		err              error
	)
	if opts.Scope == PruneDuplicates {
		// Which copy of a blob lives is the in-memory index's choice, and
		// no mark would catch a stale one: read the index files anew.
		if err := r.refreshIndex(ctx); err != nil {
			return nil, err
		}
	} else {
		if orphans, err = r.removeOrphans(ctx, lock, opts.DryRun); err != nil {
			return nil, err
		}
		if backups, err = r.manifestIDs(ctx); err != nil {
			return nil, err
		}
		backups = slices.DeleteFunc(backups, func(id ID) bool { return slices.Contains(orphans, id) })
		if used, err = r.markUsed(ctx, backups, rep); err != nil {
			return nil, err
		}
	}
	plan, err := r.planPrune(ctx, used)
	if err != nil {
		return nil, err
	}
	plan.boundRepack(opts.MaxRepack)
	res := plan.result(len(backups), plan.liveSeen)
	res.DryRun, res.OrphansRemoved = opts.DryRun, len(orphans)
	if opts.DryRun || plan.nothingToDo() {
		if !opts.DryRun {
			res.BytesAfter, res.BytesFreed = res.BytesBefore, 0
		}
		return res, nil
	}
	newPacks, err := r.repackPlan(ctx, plan, rep)
	if err != nil {
		return nil, err
	}
	res.PacksWritten = len(newPacks)
	var newIndex map[ID]struct{}
	if plan.indexChanges() {
		if err := lock.Check(ctx); err != nil {
			return nil, err
		}
		newIndex, err = r.writePrunedIndex(ctx, plan, newPacks)
		if err != nil {
			return nil, err
		}
		res.IndexFilesWritten = len(newIndex)
		// From here on the new index files name every needed blob: the old
		// ones, then the packs only they name, can go.
		var old []string
		for id := range plan.indexFiles {
			if _, ok := newIndex[id]; !ok {
				old = append(old, "index/"+id.String())
			}
		}
		n, err := r.deleteObjects(ctx, lock, old, "delete index", rep)
		res.IndexFilesDeleted = n
		if err != nil {
			return res, err
		}
	}
	// A new pack is never deleted, even in the unlikely case that it is
	// byte for byte a pack being replaced.
	fresh := map[ID]struct{}{}
	for _, ip := range newPacks {
		fresh[ip.ID] = struct{}{}
	}
	var packs []string
	for _, m := range []map[ID]int64{plan.remove, plan.unindexed} {
		for id := range m {
			if _, ok := fresh[id]; !ok {
				packs = append(packs, packName(id))
			}
		}
	}
	res.PacksDeleted, err = r.deleteObjects(ctx, lock, packs, "delete packs", rep)
	if err != nil {
		return res, err
	}
	r.dropTreePacks(plan)
	if err := r.reloadIndex(ctx); err != nil {
		return res, err
	}
	after, err := r.packAndIndexBytes(ctx)
	if err != nil {
		return res, err
	}
	res.BytesAfter, res.BytesFreed = after, res.BytesBefore-after
	return res, nil
}

// nothingToDo reports whether the repository holds no garbage.
func (p *prunePlan) nothingToDo() bool {
	return !p.indexChanges() && len(p.unindexed) == 0
}

// indexChanges reports whether the index files must be rewritten.
func (p *prunePlan) indexChanges() bool {
	return len(p.remove) > 0 || len(p.repack) > 0 || p.missing > 0
}

func (p *prunePlan) result(backups, blobs int) *PruneResult {
	res := &PruneResult{Backups: backups, BlobsUsed: blobs, Packs: len(p.stored),
		PacksKept: len(p.keep), PacksRepacked: len(p.repack), PacksRepackLater: p.later, PacksUnused: len(p.remove) - len(p.repack),
		PacksUnindexed: len(p.unindexed), PacksMissing: p.missing, BytesRepacked: p.repackLive}
	for _, s := range p.stored {
		res.BytesBefore += s
	}
	for _, s := range p.indexFiles {
		res.BytesBefore += s
	}
	// The estimate for a dry run: what is deleted, plus the copied blobs
	// in new packs (their headers and trailers left out); index files
	// take the same room again.
	res.BytesAfter = res.BytesBefore + p.repackLive
	for id, s := range p.remove {
		if _, ok := p.stored[id]; ok {
			res.BytesAfter -= s
		}
	}
	for _, s := range p.unindexed {
		res.BytesAfter -= s
	}
	res.BytesFreed = res.BytesBefore - res.BytesAfter
	return res
}

// planPrune lists the stored packs and index files and classifies every
// pack, reading the index files one at a time.
func (r *Repository) planPrune(ctx context.Context, used map[ID]struct{}) (*prunePlan, error) {
	p := &prunePlan{stored: map[ID]int64{}, indexFiles: map[ID]int64{}, keep: map[ID]struct{}{},
		repack: map[ID][]Location{}, remove: map[ID]int64{}, unindexed: map[ID]int64{},
		seen: map[ID]struct{}{}, used: used}
	if err := r.listIDs(ctx, "data/", p.stored); err != nil {
		return nil, err
	}
	if err := r.listIDs(ctx, "index/", p.indexFiles); err != nil {
		return nil, err
	}
	err := r.eachIndexFile(ctx, func(_ ID, f indexFile) error {
		for _, ip := range f.Packs {
			if err := p.classify(r, ip); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if used == nil {
		p.unindexed = map[ID]int64{} // a duplicates' prune leaves them
		return p, nil
	}
	if p.liveSeen != len(used) {
		return nil, fmt.Errorf("%w: %d blobs the backups use are in no readable index file: run `banyan-backup verify`; prune changed nothing", ErrIntegrity, len(used)-p.liveSeen)
	}
	for id, size := range p.stored {
		if _, ok := p.seen[id]; !ok {
			p.unindexed[id] = size
		}
	}
	return p, nil
}

// classify decides the fate of one indexed pack. A blob is live in a pack
// when a backup uses it and the index reads it from this pack (a blob
// stored twice is kept once).
func (p *prunePlan) classify(r *Repository, ip IndexPack) error {
	if _, dup := p.seen[ip.ID]; dup {
		return nil
	}
	p.seen[ip.ID] = struct{}{}
	var live []Location
	var liveBytes int64
	for _, b := range ip.Blobs {
		if _, ok := p.used[b.ID]; !ok && p.used != nil {
			continue
		}
		if loc, ok := r.index.Lookup(b.ID); ok && loc.Pack == ip.ID {
			live = append(live, Location{Pack: ip.ID, PackedBlob: b})
			liveBytes += int64(b.Length)
		}
	}
	p.liveSeen += len(live)
	_, stored := p.stored[ip.ID]
	switch {
	case !stored && len(live) > 0:
		return fmt.Errorf("%w: pack %s holds %d blobs that backups need, and it is missing: run `banyan-backup verify` to see the backups affected; prune changed nothing", ErrIntegrity, ip.ID.Short(), len(live))
	case !stored:
		p.missing++
	case len(live) == len(ip.Blobs):
		p.keep[ip.ID] = struct{}{}
	case len(live) == 0:
		p.remove[ip.ID] = p.stored[ip.ID]
	default:
		sort.Slice(live, func(i, j int) bool { return live[i].Offset < live[j].Offset })
		p.repack[ip.ID] = live
		p.remove[ip.ID] = p.stored[ip.ID]
		p.repackLive += liveBytes
	}
	return nil
}

// listIDs fills out with the ids and sizes of the objects under prefix
// whose last path element is an id.
func (r *Repository) listIDs(ctx context.Context, prefix string, out map[ID]int64) error {
	err := r.be.List(ctx, prefix, func(o storage.ObjectInfo) error {
		if id, err := ParseID(o.Name[strings.LastIndexByte(o.Name, '/')+1:]); err == nil {
			out[id] = o.Size
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot list %s in %s: %w", strings.TrimSuffix(prefix, "/"), r.be.Location(), err)
	}
	return nil
}

// packAndIndexBytes is the size of the packs and index files.
func (r *Repository) packAndIndexBytes(ctx context.Context) (int64, error) {
	var n int64
	for _, prefix := range []string{"data/", "index/"} {
		err := r.be.List(ctx, prefix, func(o storage.ObjectInfo) error {
			n += o.Size
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("cannot list %s in %s: %w", strings.TrimSuffix(prefix, "/"), r.be.Location(), err)
		}
	}
	return n, nil
}

// pruneCheckEvery is how many deletions prune makes between two reads of
// its lock object; before the others it checks only its own record of
// the lock (Lock.held).
const pruneCheckEvery = 64

// deleteObjects deletes names in order, reporting progress, and returns
// how many it deleted. An object already gone counts as deleted. It stops
// once lock is lost.
func (r *Repository) deleteObjects(ctx context.Context, lock *Lock, names []string, phase string, rep progress.Reporter) (int, error) {
	slices.Sort(names)
	rep.Start(phase, int64(len(names)), 0)
	defer rep.Done()
	for i, name := range names {
		if err := ctx.Err(); err != nil {
			return i, err
		}
		check := lock.held
		if i%pruneCheckEvery == 0 {
			check = func() error { return lock.Check(ctx) }
		}
		if err := check(); err != nil {
			return i, err
		}
		if err := r.be.Delete(ctx, name); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return i, fmt.Errorf("cannot delete %s: %w (run prune again to finish)", name, err)
		}
		rep.Advance(1, 0)
	}
	return len(names), nil
}

// dropTreePacks forgets cached tree packs that prune deleted.
func (r *Repository) dropTreePacks(p *prunePlan) {
	r.treeMu.Lock()
	defer r.treeMu.Unlock()
	for id := range p.remove {
		delete(r.trees, id)
	}
}
