package repository

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// pruneIndexBlobs is how many blobs a new index file names at most, so
// that writing the index holds a bounded part of it in memory.
const pruneIndexBlobs = 100_000

// repackPlan copies the live blobs of the partly used packs into new packs
// (one pack's blobs in memory at a time, never a whole pack) and returns
// the new packs. Every blob is checked against its hash before it is
// copied; its stored (possibly compressed) bytes are copied as they are.
// The new packs are stored but in no index yet: a crash leaves them as
// unindexed packs, which the next prune deletes.
func (r *Repository) repackPlan(ctx context.Context, p *prunePlan, rep progress.Reporter) ([]IndexPack, error) {
	ids := make([]ID, 0, len(p.repack))
	var total int64
	for id := range p.repack {
		ids = append(ids, id)
		total += p.stored[id]
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i].String() < ids[j].String() })
	rep.Start("repack", int64(len(ids)), total)
	defer rep.Done()
	w := &packWriter{r: r, cur: map[BlobType]*packFile{}}
	for _, id := range ids {
		if err := w.copyLive(ctx, id, p.repack[id]); err != nil {
			w.discard()
			return nil, err
		}
		rep.Advance(1, p.stored[id])
	}
	if err := w.flush(ctx); err != nil {
		w.discard()
		return nil, err
	}
	return w.packs, nil
}

// packWriter fills new packs, one per blob type at a time.
type packWriter struct {
	r      *Repository
	cur    map[BlobType]*packFile
	packs  []IndexPack
	stored []byte
	raw    []byte
	plain  []byte
}

// copyLive reads the byte range of pack id that holds live, in offset
// order, and adds each blob to a new pack after checking it.
func (w *packWriter) copyLive(ctx context.Context, id ID, live []Location) error {
	first := int64(live[0].Offset)
	last := live[len(live)-1]
	rc, err := w.r.be.Get(ctx, packName(id), first, int64(last.Offset)+int64(last.Length)-first)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: pack %s is missing; prune changed nothing", ErrIntegrity, id.Short())
		}
		return fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	pos := first
	for _, loc := range live {
		if _, err := io.CopyN(io.Discard, br, int64(loc.Offset)-pos); err != nil {
			return fmt.Errorf("%w: pack %s is shorter than its index says; prune changed nothing", ErrIntegrity, id.Short())
		}
		if cap(w.stored) < int(loc.Length) {
			w.stored = make([]byte, loc.Length)
		}
		stored := w.stored[:loc.Length]
		if _, err := io.ReadFull(br, stored); err != nil {
			return fmt.Errorf("%w: pack %s is shorter than its index says; prune changed nothing", ErrIntegrity, id.Short())
		}
		pos = int64(loc.Offset) + int64(loc.Length)
		if loc.compressed() && cap(w.raw) < int(loc.RawLength) {
			w.raw = make([]byte, 0, loc.RawLength)
		}
		check := stored
		if w.r.codec.seal != nil { // decodeBlob decrypts in place; the sealed bytes are copied
			w.plain = append(w.plain[:0], stored...)
			check = w.plain
		}
		if _, err := w.r.decodeBlob(loc, check, w.raw); err != nil {
			return fmt.Errorf("%w; prune changed nothing: run `banyan-backup verify --read-data` to see the backups affected", err)
		}
		if err := w.add(ctx, loc, stored); err != nil {
			return err
		}
	}
	return nil
}

func (w *packWriter) add(ctx context.Context, loc Location, stored []byte) error {
	p := w.cur[loc.Type]
	if p == nil {
		f, err := w.r.be.StageFile()
		if err == nil {
			p, err = newPackFile(loc.Type, f, w.r.codec.seal)
			if err != nil {
				storage.DiscardStaged(f)
			}
		}
		if err != nil {
			return fmt.Errorf("cannot stage a pack: %w", err)
		}
		w.cur[loc.Type] = p
	}
	if err := p.add(loc.ID, stored, int(loc.RawLength), loc.compressed()); err != nil {
		return err
	}
	if p.size >= w.r.cfg.PackSize {
		delete(w.cur, loc.Type)
		return w.store(ctx, p)
	}
	return nil
}

func (w *packWriter) store(ctx context.Context, p *packFile) error {
	id, size, blobs, err := p.finish()
	if err != nil {
		storage.DiscardStaged(p.f)
		return err
	}
	if err := w.r.be.PutStaged(ctx, packName(id), p.f); err != nil {
		return fmt.Errorf("cannot store pack in %s: %w", w.r.be.Location(), err)
	}
	w.packs = append(w.packs, IndexPack{ID: id, Size: size, Blobs: blobs})
	return nil
}

func (w *packWriter) flush(ctx context.Context) error {
	for _, typ := range []BlobType{DataBlob, TreeBlob} {
		if p := w.cur[typ]; p != nil {
			delete(w.cur, typ)
			if err := w.store(ctx, p); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *packWriter) discard() {
	for typ, p := range w.cur {
		storage.DiscardStaged(p.f)
		delete(w.cur, typ)
	}
}

// writePrunedIndex writes index files naming the kept packs (read again
// from the old index files, one file at a time) and the new packs, at most
// pruneIndexBlobs blobs per file, and returns their ids.
func (r *Repository) writePrunedIndex(ctx context.Context, p *prunePlan, newPacks []IndexPack) (map[ID]struct{}, error) {
	written := map[ID]struct{}{}
	done := map[ID]struct{}{}
	var batch []IndexPack
	blobs := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		data := r.codec.sealIndex(indexFile{Packs: batch})
		id := Hash(data)
		if err := r.be.Put(ctx, "index/"+id.String(), int64(len(data)), bytes.NewReader(data)); err != nil {
			return fmt.Errorf("cannot write index file: %w (prune deleted nothing; run it again)", err)
		}
		written[id] = struct{}{}
		batch, blobs = nil, 0
		return nil
	}
	addPack := func(ip IndexPack) error {
		batch = append(batch, ip)
		blobs += len(ip.Blobs)
		if blobs >= pruneIndexBlobs {
			return flush()
		}
		return nil
	}
	for _, ip := range newPacks {
		done[ip.ID] = struct{}{}
		if err := addPack(ip); err != nil {
			return nil, err
		}
	}
	err := r.eachIndexFile(ctx, func(_ ID, f indexFile) error {
		for _, ip := range f.Packs {
			if _, keep := p.keep[ip.ID]; !keep {
				continue
			}
			if _, dup := done[ip.ID]; dup {
				continue
			}
			done[ip.ID] = struct{}{}
			if err := addPack(ip); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if len(done) != len(p.keep)+len(newPacks) {
		return nil, fmt.Errorf("cannot write the new index: the index files changed while prune ran; prune deleted nothing, run it again")
	}
	return written, nil
}
