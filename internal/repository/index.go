package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// IndexPack is one pack's entry in an index file.
type IndexPack struct {
	ID    ID           `json:"id"`
	Size  int64        `json:"size"`
	Blobs []PackedBlob `json:"blobs"`
}

// indexFile is the payload of an `index/<id>` object.
type indexFile struct {
	Packs []IndexPack `json:"packs"`
}

// Location says where a blob is stored.
type Location struct {
	Pack ID
	PackedBlob
}

// indexEntry is a Location as the Index keeps it: without its blob's id
// (the map's key) and without pointers, so that the map takes half the
// memory and the garbage collector never scans it.
type indexEntry struct {
	pack                      ID
	offset, length, rawLength uint32
	typ                       BlobType
	zstd                      bool
}

func entryOf(b PackedBlob, pack ID) indexEntry {
	return indexEntry{pack: pack, offset: b.Offset, length: b.Length, rawLength: b.RawLength, typ: b.Type, zstd: b.compressed()}
}

func (e indexEntry) location(id ID) Location {
	l := Location{Pack: e.pack, PackedBlob: PackedBlob{ID: id, Type: e.typ, Offset: e.offset, Length: e.length, RawLength: e.rawLength}}
	if e.zstd {
		l.Compression = "zstd"
	}
	return l
}

// Index maps blob ids to their packs. It is safe for concurrent use.
type Index struct {
	mu    sync.RWMutex
	blobs map[ID]indexEntry
	packs map[ID]int64 // pack id → size
	files []ID         // index files loaded
}

func newIndex() *Index {
	return &Index{blobs: make(map[ID]indexEntry), packs: make(map[ID]int64)}
}

// Lookup returns where blob id is stored.
func (x *Index) Lookup(id ID) (Location, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	e, ok := x.blobs[id]
	if !ok {
		return Location{}, false
	}
	return e.location(id), true
}

// Has reports whether blob id is stored.
func (x *Index) Has(id ID) bool {
	_, ok := x.Lookup(id)
	return ok
}

// PackSize returns the size of an indexed pack.
func (x *Index) PackSize(id ID) (int64, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s, ok := x.packs[id]
	return s, ok
}

// Packs returns every indexed pack with its size.
func (x *Index) Packs() map[ID]int64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make(map[ID]int64, len(x.packs))
	for k, v := range x.packs {
		out[k] = v
	}
	return out
}

// Len returns the number of indexed blobs.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.blobs)
}

func (x *Index) addPack(p IndexPack) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.packs[p.ID] = p.Size
	for _, b := range p.Blobs {
		if _, ok := x.blobs[b.ID]; !ok {
			x.blobs[b.ID] = entryOf(b, p.ID)
		}
	}
}

// loadIndex reads every index file.
func (r *Repository) loadIndex(ctx context.Context) error {
	var names []string
	err := r.be.List(ctx, "index/", func(o storage.ObjectInfo) error {
		names = append(names, o.Name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("cannot list index files in %s: %w", r.be.Location(), err)
	}
	var ids []ID
	for _, name := range names {
		if id, err := ParseID(strings.TrimPrefix(name, "index/")); err == nil {
			ids = append(ids, id) // others are not ours: ignored, like any foreign object
		}
	}
	// A batch at a time is read and decoded at once (each read waits on
	// the disk or the network), then added in order: where two files
	// name a blob, the first one listed places it.
	for len(ids) > 0 {
		batch := ids[:min(len(ids), indexReaders)]
		ids = ids[len(batch):]
		files := make([]indexFile, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, id := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				files[i], errs[i] = r.readIndexFile(ctx, id)
			}()
		}
		wg.Wait()
		for i, id := range batch {
			if errs[i] != nil {
				return errs[i]
			}
			for _, p := range files[i].Packs {
				r.index.addPack(p)
			}
			r.index.files = append(r.index.files, id)
		}
	}
	return nil
}

// indexReaders is how many index files loadIndex reads at once.
const indexReaders = 8

// readIndexFile reads and decodes the index file id and checks its blobs'
// sizes.
func (r *Repository) readIndexFile(ctx context.Context, id ID) (indexFile, error) {
	data, err := r.readObject(ctx, "index", id)
	if errors.Is(err, ErrIntegrity) {
		return indexFile{}, err
	}
	if err != nil {
		return indexFile{}, fmt.Errorf("cannot read index file index/%s: %w", id, err)
	}
	f, err := r.codec.openIndex(data)
	if err == nil {
		err = r.checkBlobSizes(f.Packs)
	}
	if err != nil {
		return indexFile{}, fmt.Errorf("cannot read index file %s: %w", id.Short(), err)
	}
	return f, nil
}

// saveIndex writes an index file naming packs, which must already be stored.
func (r *Repository) saveIndex(ctx context.Context, packs []IndexPack) (int64, error) {
	if len(packs) == 0 {
		return 0, nil
	}
	data := r.codec.sealIndex(indexFile{Packs: packs})
	id := Hash(data)
	if err := r.be.Put(ctx, "index/"+id.String(), int64(len(data)), bytes.NewReader(data)); err != nil {
		return 0, fmt.Errorf("cannot write index file: %w", err)
	}
	// The caller adds the packs; the file is recorded as loaded so that
	// the next Lock does not reload the whole index for it.
	r.index.mu.Lock()
	r.index.files = append(r.index.files, id)
	r.index.mu.Unlock()
	return int64(len(data)), nil
}

// checkBlobSizes refuses blobs larger than the repository writes
// (repository-format.md, "Limits"): a data blob is at most one chunk, raw
// and stored (with its seal in an encrypted repository), and so is a
// compressed blob's raw length. Readers allocate these lengths.
func (r *Repository) checkBlobSizes(packs []IndexPack) error {
	limit := uint32(r.cfg.ChunkSize)
	for _, p := range packs {
		for _, b := range p.Blobs {
			if b.RawLength > limit && (b.Type == DataBlob || b.compressed()) || b.Length > limit+r.codec.overhead() && b.Type == DataBlob {
				return fmt.Errorf("%w: pack %s names blob %s of %d bytes (%d raw), over the chunk size of %d",
					ErrIntegrity, p.ID.Short(), b.ID.Short(), b.Length, b.RawLength, limit)
			}
		}
	}
	return nil
}
