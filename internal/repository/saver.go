package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
)

// indexEvery is how many packs a backup stores between index files.
const indexEvery = 16

// SaveStats counts what a Saver added to the repository.
type SaveStats struct {
	BlobsAdded int64 // new blobs stored
	RawAdded   int64 // their uncompressed bytes
	PacksAdded int64
	BytesAdded int64 // bytes of packs and index files written
}

// Saver stores blobs into new packs and index files. Its methods are safe
// for concurrent use. Call Flush at the end; until then, blobs it stored are
// not guaranteed to be indexed.
type Saver struct {
	r       *Repository
	mu      sync.Mutex
	pending map[ID]struct{} // stored or queued in this run
	cur     map[BlobType]*packBuilder
	free    chan *packBuilder // data pack buffers not in use
	uploads chan *packBuilder
	done    chan struct{}
	unindex []IndexPack
	stats   SaveStats
	err     error
}

// NewSaver starts a saver; it owns two data pack buffers of pack_size.
func (r *Repository) NewSaver(ctx context.Context) *Saver {
	s := &Saver{
		r: r, pending: make(map[ID]struct{}), cur: make(map[BlobType]*packBuilder),
		free: make(chan *packBuilder, 2), uploads: make(chan *packBuilder), done: make(chan struct{}),
	}
	for range 2 {
		s.free <- nil // allocated on first use: a backup with nothing new needs none
	}
	go s.uploader(ctx)
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
	if s.r.index.Has(id) {
		return false, nil
	}
	s.mu.Lock()
	if _, ok := s.pending[id]; ok {
		s.mu.Unlock()
		return false, nil
	}
	s.pending[id] = struct{}{}
	s.mu.Unlock()

	stored, compressed := scratch.compress(s.r.codec, raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false, s.err
	}
	p := s.cur[typ]
	if p == nil {
		var err error
		if p, err = s.takeBuilder(ctx, typ); err != nil {
			return false, err
		}
	}
	p.add(id, stored, len(raw), compressed)
	s.stats.BlobsAdded++
	s.stats.RawAdded += int64(len(raw))
	if p.size() >= s.r.cfg.PackSize {
		delete(s.cur, typ)
		if err := s.send(ctx, p); err != nil {
			return false, err
		}
	}
	return true, nil
}

// takeBuilder returns an empty pack builder for typ. Called with s.mu held.
func (s *Saver) takeBuilder(ctx context.Context, typ BlobType) (*packBuilder, error) {
	var p *packBuilder
	if typ == TreeBlob {
		p = newPackBuilder(1 << 20) // trees are small; never pooled
	} else {
		s.mu.Unlock()
		select {
		case p = <-s.free:
		case <-ctx.Done():
			s.mu.Lock()
			return nil, ctx.Err()
		}
		if p == nil {
			p = newPackBuilder(s.r.cfg.PackSize + s.r.cfg.ChunkSize + 64<<10)
		}
		s.mu.Lock()
		if q := s.cur[typ]; q != nil { // another worker got one meanwhile
			s.free <- p
			return q, nil
		}
	}
	p.reset(typ)
	s.cur[typ] = p
	return p, nil
}

// send hands a full pack to the uploader. Called with s.mu held.
func (s *Saver) send(ctx context.Context, p *packBuilder) error {
	s.mu.Unlock()
	defer s.mu.Lock()
	select {
	case s.uploads <- p:
		return nil
	case <-s.done:
		return s.errOrClosed()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Saver) errOrClosed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return errors.New("cannot save blob: saver closed")
}

// uploader stores full packs one at a time, and an index file every
// indexEvery packs.
func (s *Saver) uploader(ctx context.Context) {
	defer close(s.done)
	for p := range s.uploads {
		err := s.storePack(ctx, p)
		if p.typ == DataBlob {
			s.free <- p
		}
		if err != nil {
			s.mu.Lock()
			if s.err == nil {
				s.err = err
			}
			s.mu.Unlock()
			for p := range s.uploads { // drain so senders do not block
				if p.typ == DataBlob {
					s.free <- p
				}
			}
			return
		}
	}
}

func (s *Saver) storePack(ctx context.Context, p *packBuilder) error {
	data, blobs := p.finish()
	id := Hash(data)
	if err := s.r.be.Put(ctx, packName(id), int64(len(data)), bytes.NewReader(data)); err != nil {
		return fmt.Errorf("cannot store pack in %s: %w", s.r.be.Location(), err)
	}
	ip := IndexPack{ID: id, Size: int64(len(data)), Blobs: append([]PackedBlob(nil), blobs...)}
	s.mu.Lock()
	s.stats.PacksAdded++
	s.stats.BytesAdded += int64(len(data))
	s.unindex = append(s.unindex, ip)
	var batch []IndexPack
	if len(s.unindex) >= indexEvery {
		batch, s.unindex = s.unindex, nil
	}
	s.mu.Unlock()
	return s.writeIndex(ctx, batch)
}

func (s *Saver) writeIndex(ctx context.Context, packs []IndexPack) error {
	if len(packs) == 0 {
		return nil
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
	var last []*packBuilder
	for _, typ := range []BlobType{DataBlob, TreeBlob} {
		if p := s.cur[typ]; p != nil && len(p.blobs) > 0 {
			last = append(last, p)
		}
		delete(s.cur, typ)
	}
	s.mu.Unlock()
	var err error
	for _, p := range last {
		select {
		case s.uploads <- p:
		case <-s.done:
		case <-ctx.Done():
			err = ctx.Err()
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
// be the cancelled one). Call it only once no Save is running.
func (s *Saver) Abort(ctx context.Context) {
	s.mu.Lock()
	s.cur = map[BlobType]*packBuilder{}
	s.mu.Unlock()
	close(s.uploads)
	<-s.done
	s.mu.Lock()
	rest := s.unindex
	s.unindex = nil
	s.mu.Unlock()
	_ = s.writeIndex(ctx, rest) // best effort: unindexed packs only cost space until prune
}
