package repository

import (
	"context"
	"fmt"
	"sync"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// indexEvery is how many packs a backup stores between index files.
const indexEvery = 16

// uploaders is how many packs are stored at once: two keep an object store
// busy while one pack's request is being set up or acknowledged, and cost
// one more staged file, not memory.
const uploaders = 2

// SaveStats counts what a Saver added to the repository.
type SaveStats struct {
	BlobsAdded int64 // new blobs stored
	RawAdded   int64 // their uncompressed bytes
	PacksAdded int64
	BytesAdded int64 // bytes of packs and index files written
}

// Saver stores blobs into new packs and index files. Its methods are safe
// for concurrent use. Packs are staged in files (storage.Backend.StageFile) and
// stored by a few uploaders while the next pack fills. Call Flush at the end;
// until then, blobs it stored are not guaranteed to be indexed.
type Saver struct {
	r       *Repository
	lock    *Lock // records each pack before it is stored; nil: not recorded
	mu      sync.Mutex
	pending map[ID]struct{} // stored or queued in this run
	// idle holds the open packs no Save is writing to, per blob type. A
	// Save takes one (or stages a new one) and writes its blob into it
	// outside mu, so that workers hash and write their packs in parallel;
	// there are at most as many open packs of a type as Saves at once.
	idle    map[BlobType][]*packFile
	uploads chan *packFile
	done    chan struct{}
	unindex []IndexPack
	stats   SaveStats
	err     error
}

// NewSaver starts a saver under the lock l: each pack is recorded in the
// lock before it is stored, until an index file names it, so that the
// packs of a holder that is killed can be adopted (recover.go). Backups
// save under their lock; a nil lock records nothing (tests).
func (l *Lock) NewSaver(ctx context.Context) *Saver {
	return l.r.newSaver(ctx, l)
}

// NewSaver starts a saver that records its packs in no lock: if it is
// killed, its unindexed packs are left for prune.
func (r *Repository) NewSaver(ctx context.Context) *Saver { return r.newSaver(ctx, nil) }

func (r *Repository) newSaver(ctx context.Context, lock *Lock) *Saver {
	s := &Saver{
		r: r, lock: lock, pending: make(map[ID]struct{}), idle: make(map[BlobType][]*packFile),
		uploads: make(chan *packFile), done: make(chan struct{}),
	}
	var wg sync.WaitGroup
	for range uploaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.uploader(ctx)
		}()
	}
	go func() {
		wg.Wait()
		close(s.done)
	}()
	return s
}

// Has reports whether the blob is stored or queued.
func (s *Saver) Has(id ID) bool {
	s.mu.Lock()
	_, ok := s.pending[id]
	s.mu.Unlock()
	return ok || s.r.index.Has(id)
}

// Save stores a blob unless the repository has it; it reports whether it
// was added. raw is not kept after Save returns.
func (s *Saver) Save(ctx context.Context, typ BlobType, id ID, raw []byte, scratch *Scratch) (bool, error) {
	if !s.claim(id) {
		return false, nil
	}
	// Trees too: their JSON is 3-4% of a root of small files, and a
	// quarter of that compressed (docs/repository-format.md, Compression).
	// A tree larger than a chunk stays raw: no reader decompresses more.
	stored, compressed := raw, false
	if typ == DataBlob || len(raw) <= s.r.cfg.ChunkSize {
		stored, compressed = scratch.compress(s.r.codec, raw)
	}
	if seal := s.r.codec.seal; seal != nil {
		scratch.sealed = seal.seal(scratch.sealed[:0], stored, blobAD(typ, id))
		stored = scratch.sealed
	}
	if err := s.append(ctx, typ, id, stored, len(raw), compressed); err != nil {
		return false, err
	}
	return true, nil
}

// claim reports whether blob id is neither indexed nor stored or queued
// by this saver, and if so marks it queued: the caller must append it.
func (s *Saver) claim(id ID) bool {
	if s.r.index.Has(id) {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.pending[id]; ok {
		return false
	}
	s.pending[id] = struct{}{}
	return true
}

// append adds a blob's stored bytes to an open pack of its type, and
// hands the pack to an uploader once it is full.
func (s *Saver) append(ctx context.Context, typ BlobType, id ID, stored []byte, rawLen int, compressed bool) error {
	p, err := s.take(typ)
	if err != nil {
		return err
	}
	if err := p.add(id, stored, rawLen, compressed); err != nil {
		storage.DiscardStaged(p.f)
		s.fail(err)
		return err
	}
	s.mu.Lock()
	s.stats.BlobsAdded++
	s.stats.RawAdded += int64(rawLen)
	full := p.size >= s.r.cfg.PackSize
	if !full {
		s.idle[typ] = append(s.idle[typ], p)
	}
	s.mu.Unlock()
	if full {
		return s.send(ctx, p)
	}
	return nil
}

// take gives the caller an open pack of type typ to write to alone: the
// one most recently put back, so that one pack fills at a time when Saves
// do not overlap, or a newly staged one.
func (s *Saver) take(typ BlobType) (*packFile, error) {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return nil, s.err
	}
	var p *packFile
	if n := len(s.idle[typ]); n > 0 {
		p = s.idle[typ][n-1]
		s.idle[typ] = s.idle[typ][:n-1]
	}
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	f, err := s.r.be.StageFile()
	if err == nil {
		p, err = newPackFile(typ, f, s.r.codec.seal)
		if err != nil {
			storage.DiscardStaged(f)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot stage a pack: %w", err)
	}
	return p, nil
}

// fail records the saver's first error: every later Save returns it.
func (s *Saver) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// send hands a full pack to the uploader, waiting while it stores the
// previous one.
func (s *Saver) send(ctx context.Context, p *packFile) error {
	select {
	case s.uploads <- p:
		return nil
	case <-s.done:
		storage.DiscardStaged(p.f)
		return s.errOrClosed()
	case <-ctx.Done():
		storage.DiscardStaged(p.f)
		return ctx.Err()
	}
}

func (s *Saver) errOrClosed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return fmt.Errorf("cannot save blob: saver closed")
}

// uploader stores full packs one at a time, and an index file every
// indexEvery packs. After an error it discards what it is sent.
func (s *Saver) uploader(ctx context.Context) {
	for p := range s.uploads {
		if err := s.storePack(ctx, p); err != nil {
			s.fail(err)
			for p := range s.uploads {
				storage.DiscardStaged(p.f)
			}
			return
		}
	}
}

func (s *Saver) storePack(ctx context.Context, p *packFile) error {
	id, size, blobs, err := p.finish()
	if err == nil && s.lock != nil {
		err = s.lock.recordPack(ctx, id)
	}
	if err != nil {
		storage.DiscardStaged(p.f)
		return err
	}
	if err := s.r.be.PutStaged(ctx, packName(id), p.f); err != nil {
		return fmt.Errorf("cannot store pack in %s: %w", s.r.be.Location(), err)
	}
	ip := IndexPack{ID: id, Size: size, Blobs: blobs}
	s.mu.Lock()
	s.stats.PacksAdded++
	s.stats.BytesAdded += size
	s.unindex = append(s.unindex, ip)
	var batch []IndexPack
	if len(s.unindex) >= indexEvery {
		batch, s.unindex = s.unindex, nil
	}
	s.mu.Unlock()
	return s.writeIndex(ctx, batch)
}

// writeIndex writes an index file naming packs. Under a lock it first
// checks the lock: once it is lost, a prune may have deleted these packs,
// and an index file naming them would make later backups skip blobs that
// are gone.
func (s *Saver) writeIndex(ctx context.Context, packs []IndexPack) error {
	if len(packs) == 0 {
		return nil
	}
	if s.lock != nil {
		if err := s.lock.Check(ctx); err != nil {
			return err
		}
	}
	n, err := s.r.saveIndex(ctx, packs)
	if err != nil {
		return err
	}
	for _, p := range packs {
		s.r.index.addPack(p)
	}
	s.mu.Lock()
	s.stats.BytesAdded += n
	s.mu.Unlock()
	return nil
}

// Flush stores the open packs and the last index file, and stops the saver.
// After Flush every blob Save added is in the repository's index.
func (s *Saver) Flush(ctx context.Context) (SaveStats, error) {
	s.mu.Lock()
	var last []*packFile
	for _, typ := range []BlobType{DataBlob, TreeBlob} {
		last = append(last, s.idle[typ]...)
		delete(s.idle, typ)
	}
	s.mu.Unlock()
	var err error
	for _, p := range last {
		if err == nil {
			err = s.send(ctx, p)
		} else {
			storage.DiscardStaged(p.f)
		}
	}
	close(s.uploads)
	<-s.done
	s.mu.Lock()
	if err == nil {
		err = s.err
	}
	rest := s.unindex
	s.unindex = nil
	s.mu.Unlock()
	if err == nil {
		err = s.writeIndex(ctx, rest)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats, err
}

// Abort stops the saver without storing the open packs, and indexes the
// packs already stored so that the next backup reuses them (ctx should not
// be the cancelled one), unless its lock is lost. Call it only once no
// Save is running.
func (s *Saver) Abort(ctx context.Context) {
	s.mu.Lock()
	for typ, packs := range s.idle {
		for _, p := range packs {
			storage.DiscardStaged(p.f)
		}
		delete(s.idle, typ)
	}
	s.mu.Unlock()
	close(s.uploads)
	<-s.done
	s.mu.Lock()
	rest := s.unindex
	s.unindex = nil
	s.mu.Unlock()
	_ = s.writeIndex(ctx, rest) // best effort: unindexed packs only cost space until prune
}
