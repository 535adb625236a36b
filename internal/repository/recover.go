package repository

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/zeebo/blake3"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Recovered counts the packs AdoptPacks adopted.
type Recovered struct {
	Packs int   `json:"packs"`
	Bytes int64 `json:"bytes"`
	Blobs int   `json:"blobs"`
}

// AdoptPacks adopts the packs that a killed backup stored before it wrote
// their index, so that this backup does not upload them again. It acts
// only on evidence of a killed writer: a stale lock (its holder is gone)
// that lists packs no index names (a saver records each pack in its lock
// before storing it). The packs of a writer that is alive are never
// touched: their lock is not stale. Each listed pack that exists is read
// once and checked against its name (the hash of its bytes); its trailer
// gives its blobs; one new index file names the packs that verify. A
// listed pack that is missing (its upload was in flight) or does not
// verify is left alone (prune deletes a damaged one). Stale locks are not
// removed here (that is `unlock`'s decision); adopting again finds their
// packs indexed and reads nothing. own is the caller's lock.
func (r *Repository) AdoptPacks(ctx context.Context, own *Lock) (Recovered, error) {
	candidates, err := r.orphansOfStaleLocks(ctx, own)
	if err != nil || len(candidates) == 0 {
		return Recovered{}, err
	}
	var rec Recovered
	var packs []IndexPack
	for _, id := range candidates {
		info, err := r.be.Stat(ctx, packName(id))
		if errors.Is(err, storage.ErrNotFound) {
			continue // its upload never finished
		}
		if err != nil {
			return Recovered{}, fmt.Errorf("cannot adopt pack %s: %w", id.Short(), err)
		}
		blobs, err := r.readOrphan(ctx, id, info.Size)
		if err != nil {
			continue // damaged: not adopted
		}
		packs = append(packs, IndexPack{ID: id, Size: info.Size, Blobs: blobs})
		rec.Packs++
		rec.Bytes += info.Size
		rec.Blobs += len(blobs)
	}
	if len(packs) == 0 {
		return rec, nil
	}
	if own != nil {
		if err := own.Check(ctx); err != nil {
			return Recovered{}, err
		}
	}
	if _, err := r.saveIndex(ctx, packs); err != nil {
		return Recovered{}, fmt.Errorf("cannot index adopted packs: %w", err)
	}
	for _, p := range packs {
		r.index.addPack(p)
	}
	return rec, nil
}

// orphansOfStaleLocks lists, sorted and once each, the packs that stale
// locks other than own record and no index names.
func (r *Repository) orphansOfStaleLocks(ctx context.Context, own *Lock) ([]ID, error) {
	var names []string
	err := r.be.List(ctx, "locks/", func(o storage.ObjectInfo) error {
		if own == nil || o.Name != own.name {
			names = append(names, o.Name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list locks in %s: %w", r.be.Location(), err)
	}
	var out []ID
	judge := r.newLockJudge()
	for _, name := range names {
		info, err := r.readLock(ctx, name)
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, errUnreadableLock) {
			continue // released meanwhile, or not a lock
		}
		if err != nil {
			return nil, err
		}
		if !judge.judge(info).stale {
			continue
		}
		for _, id := range info.Packs {
			if _, ok := r.index.PackSize(id); !ok {
				out = append(out, id)
			}
		}
	}
	slices.SortFunc(out, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	return slices.Compact(out), nil
}

// readOrphan reads a pack's trailer, then the whole pack to check its hash.
func (r *Repository) readOrphan(ctx context.Context, id ID, size int64) ([]PackedBlob, error) {
	if size < packHeaderSize+packFooterSize {
		return nil, fmt.Errorf("%w: pack %s is too short", ErrIntegrity, id.Short())
	}
	footer, err := r.readAt(ctx, packName(id), size-packFooterSize, packFooterSize)
	if err != nil {
		return nil, err
	}
	tlen := int64(binary.LittleEndian.Uint32(footer))
	entries := tlen
	if r.codec.seal != nil {
		entries -= sealOverhead
	}
	if entries < 0 || entries%packEntrySize != 0 || tlen > size-packHeaderSize-packFooterSize {
		return nil, fmt.Errorf("%w: pack %s trailer length %d invalid", ErrIntegrity, id.Short(), tlen)
	}
	tail, err := r.readAt(ctx, packName(id), size-packFooterSize-tlen, tlen+packFooterSize)
	if err != nil {
		return nil, err
	}
	tail, plainSize, err := r.codec.openTrailer(tail, size)
	if err != nil {
		return nil, err
	}
	blobs, err := parseTrailer(tail, plainSize, r.codec.overhead())
	if err == nil {
		err = r.checkBlobSizes([]IndexPack{{ID: id, Blobs: blobs}})
	}
	if err != nil {
		return nil, err
	}
	rc, err := r.be.Get(ctx, packName(id), 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h := blake3.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return nil, err
	}
	var got ID
	h.Sum(got[:0])
	if n != size || got != id {
		return nil, fmt.Errorf("%w: pack %s does not match its hash", ErrIntegrity, id.Short())
	}
	return blobs, nil
}

func (r *Repository) readAt(ctx context.Context, name string, off, n int64) ([]byte, error) {
	rc, err := r.be.Get(ctx, name, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	buf := make([]byte, n)
	if _, err := io.ReadFull(rc, buf); err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	return buf, nil
}
