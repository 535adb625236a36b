package repository

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"path"
	"sort"

	"github.com/zeebo/blake3"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Recovered counts the packs RecoverPacks adopted.
type Recovered struct {
	Packs int   `json:"packs"`
	Bytes int64 `json:"bytes"`
	Blobs int   `json:"blobs"`
}

// RecoverPacks adopts the packs that are stored but named by no index: the
// ones a backup uploaded before it was killed, before it wrote their index.
// Each is read once and checked against its name (the hash of its bytes);
// its trailer gives its blobs. They are then written to a new index file,
// so that the next backup finds the blobs and does not upload them again.
// A pack that does not verify is left alone (prune deletes it). Packs are
// immutable and stored atomically, so adopting the pack of a backup still
// running beside this one is harmless: both index it.
func (r *Repository) RecoverPacks(ctx context.Context) (Recovered, error) {
	var found []storage.ObjectInfo
	err := r.be.List(ctx, "data/", func(o storage.ObjectInfo) error {
		id, err := ParseID(path.Base(o.Name))
		if err != nil || packName(id) != o.Name {
			return nil // not ours
		}
		if _, ok := r.index.PackSize(id); !ok {
			found = append(found, o)
		}
		return nil
	})
	if err != nil {
		return Recovered{}, fmt.Errorf("cannot list packs in %s: %w", r.be.Location(), err)
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Name < found[j].Name })
	var rec Recovered
	var packs []IndexPack
	for _, o := range found {
		id, _ := ParseID(path.Base(o.Name))
		blobs, err := r.readOrphan(ctx, id, o.Size)
		if err != nil {
			continue // damaged or foreign: not adopted
		}
		packs = append(packs, IndexPack{ID: id, Size: o.Size, Blobs: blobs})
		rec.Packs++
		rec.Bytes += o.Size
		rec.Blobs += len(blobs)
	}
	if len(packs) == 0 {
		return rec, nil
	}
	if _, err := r.saveIndex(ctx, packs); err != nil {
		return Recovered{}, fmt.Errorf("cannot index recovered packs: %w", err)
	}
	for _, p := range packs {
		r.index.addPack(p)
	}
	return rec, nil
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
	if tlen%packEntrySize != 0 || tlen > size-packHeaderSize-packFooterSize {
		return nil, fmt.Errorf("%w: pack %s trailer length %d invalid", ErrIntegrity, id.Short(), tlen)
	}
	tail, err := r.readAt(ctx, packName(id), size-packFooterSize-tlen, tlen+packFooterSize)
	if err != nil {
		return nil, err
	}
	blobs, err := parseTrailer(tail, size)
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
