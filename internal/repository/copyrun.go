package repository

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/zeebo/blake3"

	"github.com/banyan-backup/banyan-backup/internal/parallel"
	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// copyGap is the largest run of unneeded bytes between two blobs of one
// pack that a copy reads through rather than asking for a new range.
const copyGap = 1 << 20

// CopyOptions tune Copy.
type CopyOptions struct {
	// Workers reading the source's packs at once; 0 means 2.
	Workers  int
	Progress progress.Reporter
}

// Copy stores the planned blobs in the destination through dst, a saver
// of it, as they are stored in the source: compressed blobs are not
// decompressed and compressed again; a blob of an encrypted repository is
// opened with its key, and sealed with the destination's if that is
// encrypted.
//
//   - When neither repository is encrypted, a source pack all of whose
//     blobs are planned is copied whole, under its own name: it is
//     streamed once, checked against its name (the hash of its bytes, as
//     an adopted pack is), and its trailer against the index.
//   - Of another pack, the planned blobs are read, one range for blobs
//     less than copyGap apart, each checked against its id, and appended
//     to the destination's packs.
//
// Damage (a pack or blob that does not match its hash, a missing or short
// pack) fails the copy with ErrIntegrity; what dst stored until then is
// named by no manifest.
func (c *CopySource) Copy(ctx context.Context, p *CopyPlan, dst *Saver, opts CopyOptions) error {
	rep := progress.OrNop(opts.Progress)
	rep.Start("copy", p.Trees+p.Blobs, p.StoredBytes)
	defer rep.Done()
	n := opts.Workers
	if n <= 0 {
		n = 2
	}
	whole := c.r.codec.seal == nil && dst.r.codec.seal == nil // pack bytes mean the same in both
	return parallel.ForEach(ctx, n, c.runs(p.blobs, whole), func() func(context.Context, copyRun) error {
		w := &copyWorker{src: c.r, dst: dst, rep: rep}
		return w.run
	})
}

// copyRun is what one worker does at once: a whole pack, or a range of
// one holding the blobs.
type copyRun struct {
	blobs []Location
	whole bool
	size  int64 // of the pack, when whole
}

// runs splits blobs, sorted by pack and offset, into ranges, and whole
// packs when whole is set.
func (c *CopySource) runs(blobs []Location, whole bool) []copyRun {
	var out []copyRun
	for len(blobs) > 0 {
		n := 1
		for n < len(blobs) && blobs[n].Pack == blobs[0].Pack {
			n++
		}
		pack := blobs[:n]
		blobs = blobs[n:]
		if size, ok := c.r.index.PackSize(pack[0].Pack); whole && ok && fills(pack, size) {
			out = append(out, copyRun{blobs: pack, whole: true, size: size})
			continue
		}
		start := 0
		for i := 1; i <= len(pack); i++ {
			if i < len(pack) && int64(pack[i].Offset)-int64(pack[i-1].Offset)-int64(pack[i-1].Length) <= copyGap {
				continue
			}
			out = append(out, copyRun{blobs: pack[start:i]})
			start = i
		}
	}
	return out
}

// fills reports whether blobs, distinct and of one pack, are all the pack
// holds: with the header and the trailer, they make up its size.
func fills(blobs []Location, size int64) bool {
	n := int64(packHeaderSize + packFooterSize)
	for _, b := range blobs {
		n += int64(b.Length) + packEntrySize
	}
	return n == size
}

// copyWorker copies runs, with buffers of its own.
type copyWorker struct {
	src     *Repository
	dst     *Saver
	rep     progress.Reporter
	stored  []byte
	raw     []byte
	buf     []byte
	scratch Scratch // seals for the destination
}

func (w *copyWorker) run(ctx context.Context, r copyRun) error {
	if r.whole {
		return w.pack(ctx, r)
	}
	return w.blobs(ctx, r.blobs)
}

// get opens a range of a source pack.
func (w *copyWorker) get(ctx context.Context, pack ID, off, n int64) (io.ReadCloser, error) {
	rc, err := w.src.be.Get(ctx, packName(pack), off, n)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("%w: pack %s of %s is missing", ErrIntegrity, pack.Short(), w.src.Location())
		}
		return nil, fmt.Errorf("cannot read pack %s: %w", pack.Short(), err)
	}
	return rc, nil
}

// blobs reads one range of a source pack and stores each blob in it.
func (w *copyWorker) blobs(ctx context.Context, run []Location) error {
	pack := run[0].Pack
	first, last := int64(run[0].Offset), run[len(run)-1]
	rc, err := w.get(ctx, pack, first, int64(last.Offset)+int64(last.Length)-first)
	if err != nil {
		return err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<20)
	pos := first
	for _, loc := range run {
		if _, err := io.CopyN(io.Discard, br, int64(loc.Offset)-pos); err != nil {
			return short(pack, err)
		}
		if cap(w.stored) < int(loc.Length) {
			w.stored = make([]byte, loc.Length)
		}
		stored := w.stored[:loc.Length]
		if _, err := io.ReadFull(br, stored); err != nil {
			return short(pack, err)
		}
		pos = int64(loc.Offset) + int64(loc.Length)
		if loc.compressed() && cap(w.raw) < int(loc.RawLength) {
			w.raw = make([]byte, 0, loc.RawLength)
		}
		plain, _, err := w.src.openBlob(loc, stored, w.raw)
		if err != nil {
			return err
		}
		if _, err := w.dst.SaveStored(ctx, loc.PackedBlob, plain, &w.scratch); err != nil {
			return err
		}
		w.rep.Advance(1, int64(loc.Length))
	}
	return nil
}

func short(pack ID, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: pack %s is shorter than its index says", ErrIntegrity, pack.Short())
	}
	return fmt.Errorf("cannot read pack %s: %w", pack.Short(), err)
}

// pack streams a whole source pack into a staged file of the destination,
// hashing it on the way, checks it, and hands it to dst.
func (w *copyWorker) pack(ctx context.Context, r copyRun) error {
	id := r.blobs[0].Pack
	rc, err := w.get(ctx, id, 0, -1)
	if err != nil {
		return err
	}
	defer rc.Close()
	f, err := w.dst.r.be.StageFile()
	if err != nil {
		return fmt.Errorf("cannot stage a pack: %w", err)
	}
	if w.buf == nil {
		w.buf = make([]byte, 1<<20)
	}
	h := blake3.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), rc, w.buf)
	var got ID
	h.Sum(got[:0])
	switch {
	case err != nil:
		err = fmt.Errorf("cannot copy pack %s: %w", id.Short(), err)
	case n != r.size || got != id:
		err = fmt.Errorf("%w: pack %s of %s does not match its hash", ErrIntegrity, id.Short(), w.src.Location())
	}
	var blobs []PackedBlob
	if err == nil {
		blobs, err = trailerOf(f, id, n, r.blobs)
	}
	if err == nil {
		err = w.dst.storeWhole(ctx, f, IndexPack{ID: id, Size: n, Blobs: blobs})
	} else {
		storage.DiscardStaged(f)
	}
	if err != nil {
		return err
	}
	var stored int64
	for _, b := range blobs {
		stored += int64(b.Length)
	}
	w.rep.Advance(int64(len(blobs)), stored)
	return nil
}

// trailerOf reads the blob list of the pack copied into f and checks it
// against the source's index (want, in offset order).
func trailerOf(f *os.File, id ID, size int64, want []Location) ([]PackedBlob, error) {
	tail := make([]byte, len(want)*packEntrySize+packFooterSize)
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
		return nil, fmt.Errorf("cannot read the pack copied: %w", err)
	}
	blobs, err := parseTrailer(tail, size, 0) // only unencrypted packs are copied whole
	if err != nil {
		return nil, fmt.Errorf("pack %s: %w", id.Short(), err)
	}
	for i, b := range blobs {
		if b != want[i].PackedBlob {
			return nil, fmt.Errorf("%w: pack %s holds blob %s where the index names %s", ErrIntegrity, id.Short(), b.ID.Short(), want[i].ID.Short())
		}
	}
	return blobs, nil
}

// SaveStored stores a blob of another repository as it is stored there,
// decrypted (plain: raw, or zstd-compressed as b says; b also gives its
// type, id and raw length), unless this repository has it; it reports
// whether it was added. It seals plain when this repository is encrypted.
// plain is not kept after SaveStored returns. The caller has checked plain
// against b.ID.
func (s *Saver) SaveStored(ctx context.Context, b PackedBlob, plain []byte, scratch *Scratch) (bool, error) {
	if !s.claim(b.ID) {
		return false, nil
	}
	stored := plain
	if seal := s.r.codec.seal; seal != nil {
		scratch.sealed = seal.seal(scratch.sealed[:0], plain, blobAD(b.Type, b.ID))
		stored = scratch.sealed
	}
	if err := s.append(ctx, b.Type, b.ID, stored, int(b.RawLength), b.compressed()); err != nil {
		return false, err
	}
	return true, nil
}

// storeWhole stores a complete pack of another repository, staged in f,
// under its own name, and indexes it as it indexes its own packs. Its
// blobs count as added; the caller has planned none of them twice.
func (s *Saver) storeWhole(ctx context.Context, f *os.File, ip IndexPack) error {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		storage.DiscardStaged(f)
		return s.err
	}
	for _, b := range ip.Blobs {
		s.pending[b.ID] = struct{}{}
		s.stats.BlobsAdded++
		s.stats.RawAdded += int64(b.RawLength)
	}
	s.mu.Unlock()
	return s.send(ctx, &packFile{typ: ip.Blobs[0].Type, f: f, size: int(ip.Size), whole: &ip})
}
