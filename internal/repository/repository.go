package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Repository is an open repository.
type Repository struct {
	be     storage.Backend
	cfg    Config
	codec  *codec
	index  *Index
	clock  func() time.Time
	timing lockTiming
	opts   Options
	treeMu sync.Mutex
	trees  map[ID][]byte // whole tree packs, read once
	master *masterKey    // nil: not encrypted
	keyID  string        // the key the repository was opened with
}

// Options for Open and Init.
type Options struct {
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// LockWait is how long Lock retries while another process holds a
	// conflicting lock; 0 fails at once (lockwait.go).
	LockWait time.Duration
	// OnLockWait, if set, is called each time Lock finds the repository
	// locked and will retry, with the error naming the holder.
	OnLockWait func(error)
	// CacheDir, if set, keeps local copies of manifests and index files
	// (cache.go); "" reads them from the backend every time.
	CacheDir string
	// Credentials open an encrypted repository (and make the first key of
	// a new one). Given for a repository that is not encrypted, Open
	// refuses it (ErrNotEncrypted): see docs/repository-format.md,
	// "Encryption", Guards.
	Credentials *Credentials
	// PackReads says how restores and verifications read whole packs; the
	// zero value reads each with one Get, front to back.
	PackReads PackReads
}

// PackReads has whole packs read in ranged Gets of Chunk bytes, up to
// Parallel at once per reader, one pack after the other (storage.ReadAhead):
// for object stores, where one stream's rate and each request's wait for
// its first byte would bound the reader. Parallel < 2 reads each pack with
// one Get.
type PackReads struct {
	Chunk    int64
	Parallel int
}

func newRepository(be storage.Backend, cfg Config, opts Options) (*Repository, error) {
	c, err := newCodec()
	if err != nil {
		return nil, err
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	return &Repository{be: be, cfg: cfg, codec: c, index: newIndex(), clock: clock, opts: opts, trees: make(map[ID][]byte),
		timing: lockTiming{refresh: lockRefresh, stale: lockStale}}, nil
}

// Init creates a new repository on be, which must hold no config.
func Init(ctx context.Context, be storage.Backend, init InitOptions, opts Options) (*Repository, error) {
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	cfg, err := newConfig(init, clock())
	if err != nil {
		return nil, err
	}
	if cfg.PackSize >= maxSize || cfg.ChunkSize >= maxSize {
		return nil, fmt.Errorf("cannot create repository: pack and chunk sizes must be under 2 GiB")
	}
	if !init.Encrypt && opts.Credentials.given() {
		return nil, fmt.Errorf("%w: a password or key file was given, so init would encrypt the repository: give --encrypt too, or leave the password out", ErrNotEncrypted)
	}
	if init.Encrypt && !opts.Credentials.given() {
		return nil, fmt.Errorf("%w: an encrypted repository needs a password (--password-file FILE or BANYAN_BACKUP_PASSWORD) or a key file (--key-file)", ErrNeedCredentials)
	}
	if err := saveConfig(ctx, be, cfg); err != nil {
		return nil, err
	}
	r, err := newRepository(be, cfg, opts)
	if err != nil {
		return nil, err
	}
	if init.Encrypt {
		if err := r.createFirstKey(ctx, opts.Credentials, init.KDF); err != nil {
			return nil, fmt.Errorf("%w (the config was written: remove %s before running init again)", err, be.Location())
		}
	}
	return r, nil
}

// Open opens an existing repository and loads its index.
func Open(ctx context.Context, be storage.Backend, opts Options) (*Repository, error) {
	cfg, err := loadConfig(ctx, be)
	if err != nil {
		return nil, err
	}
	r, err := newRepository(be, cfg, opts)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.Encrypted():
		if err := r.unlock(ctx, opts.Credentials); err != nil {
			return nil, err
		}
	case opts.Credentials.given():
		return nil, fmt.Errorf("%w: %s is not encrypted, but a password or key file was given; leave it out to use this repository, or check that nobody replaced an encrypted repository's config", ErrNotEncrypted, be.Location())
	}
	if err := r.loadIndex(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Config returns the repository's config.
func (r *Repository) Config() Config { return r.cfg }

// Index returns the repository's in-memory index.
func (r *Repository) Index() *Index { return r.index }

// Backend returns the storage the repository lives on.
func (r *Repository) Backend() storage.Backend { return r.be }

// Location names the repository for messages.
func (r *Repository) Location() string { return r.be.Location() }

// Now returns the repository clock's time.
func (r *Repository) Now() time.Time { return r.clock() }

// Close releases resources; it does not close the backend, which belongs
// to whoever opened it (engine.Repo closes both).
func (r *Repository) Close() {
	r.codec.close()
}

// LoadBlob reads blob id, checking its hash. buf is reused when large enough.
func (r *Repository) LoadBlob(ctx context.Context, id ID, buf []byte) ([]byte, error) {
	loc, ok := r.index.Lookup(id)
	if !ok {
		return nil, fmt.Errorf("%w: blob %s is in no index", ErrIntegrity, id.Short())
	}
	var stored []byte
	if loc.Type == TreeBlob {
		pack, err := r.treePack(ctx, loc.Pack)
		if err != nil {
			return nil, err
		}
		end := uint64(loc.Offset) + uint64(loc.Length)
		if end > uint64(len(pack)) {
			return nil, fmt.Errorf("%w: pack %s is shorter than its index says", ErrIntegrity, loc.Pack.Short())
		}
		// A copy: callers may write into what LoadBlob returns.
		stored = pack[loc.Offset:end:end]
		if !loc.compressed() || r.codec.seal != nil {
			stored = bytes.Clone(stored)
		}
	} else {
		var err error
		stored, err = r.readRange(ctx, loc, buf)
		if err != nil {
			return nil, err
		}
	}
	return r.decodeBlob(loc, stored, buf)
}

func (r *Repository) readRange(ctx context.Context, loc Location, buf []byte) ([]byte, error) {
	rc, err := r.be.Get(ctx, packName(loc.Pack), int64(loc.Offset), int64(loc.Length))
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("%w: pack %s of blob %s is missing", ErrIntegrity, loc.Pack.Short(), loc.ID.Short())
		}
		return nil, fmt.Errorf("cannot read pack %s: %w", loc.Pack.Short(), err)
	}
	defer rc.Close()
	var stored []byte
	if loc.compressed() || cap(buf) < int(loc.Length) {
		stored = make([]byte, loc.Length)
	} else {
		stored = buf[:loc.Length]
	}
	if _, err := io.ReadFull(rc, stored); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: pack %s is shorter than its index says", ErrIntegrity, loc.Pack.Short())
		}
		return nil, fmt.Errorf("cannot read pack %s: %w", loc.Pack.Short(), err)
	}
	return stored, nil
}

// decodeBlob decrypts (over stored itself) and decompresses stored bytes as
// needed, and checks the blob's hash. A compressed blob is decoded into at
// most its raw length, which is at most the chunk size
// (repository-format.md, "Limits"), reusing buf when large enough.
func (r *Repository) decodeBlob(loc Location, stored, buf []byte) ([]byte, error) {
	_, raw, err := r.openBlob(loc, stored, buf)
	return raw, err
}

// openBlob decrypts stored bytes (over stored itself) as needed, and
// returns them decrypted (plain: raw, or compressed as stored) and
// decompressed (raw), after checking the blob's hash.
func (r *Repository) openBlob(loc Location, stored, buf []byte) (plain, raw []byte, err error) {
	plain = stored
	if seal := r.codec.seal; seal != nil {
		plain, err = seal.openInPlace(stored, blobAD(loc.Type, loc.ID))
		if err != nil {
			return nil, nil, &BlobError{Blob: loc.ID, Pack: loc.Pack}
		}
	}
	raw = plain
	if loc.compressed() {
		if int64(loc.RawLength) > int64(r.cfg.ChunkSize) {
			return nil, nil, fmt.Errorf("%w: blob %s in pack %s is compressed with a raw length of %d bytes, over the chunk size",
				ErrIntegrity, loc.ID.Short(), loc.Pack.Short(), loc.RawLength)
		}
		if cap(buf) < int(loc.RawLength) {
			buf = make([]byte, 0, loc.RawLength)
		}
		raw, err = r.codec.dec.DecodeAll(plain, buf[:0:loc.RawLength])
		if err != nil {
			return nil, nil, &BlobError{Blob: loc.ID, Pack: loc.Pack, Reason: fmt.Sprintf("does not decompress: %v", err)}
		}
	}
	if len(raw) != int(loc.RawLength) || Hash(raw) != loc.ID {
		return nil, nil, &BlobError{Blob: loc.ID, Pack: loc.Pack}
	}
	return plain, raw, nil
}

// BlobError reports a blob whose bytes do not match its id, or that does
// not decompress.
type BlobError struct {
	Blob, Pack ID
	// Reason says what is wrong; empty means the hash does not match.
	Reason string
}

func (e *BlobError) Error() string {
	why := e.Reason
	if why == "" {
		why = "does not match its hash"
	}
	return fmt.Sprintf("%v: blob %s in pack %s %s", ErrIntegrity, e.Blob.Short(), e.Pack.Short(), why)
}

// Unwrap makes errors.Is(err, ErrIntegrity) true.
func (e *BlobError) Unwrap() error { return ErrIntegrity }

// DropTreeCache forgets the tree packs read so far: a caller done with
// walking trees (a restore, once planned) gives their memory back. Trees
// read later are fetched again.
func (r *Repository) DropTreeCache() {
	r.treeMu.Lock()
	r.trees = make(map[ID][]byte)
	r.treeMu.Unlock()
}

// treePack returns a whole tree pack, read once and kept.
func (r *Repository) treePack(ctx context.Context, id ID) ([]byte, error) {
	r.treeMu.Lock()
	defer r.treeMu.Unlock()
	if p, ok := r.trees[id]; ok {
		return p, nil
	}
	p, err := r.readTreePack(ctx, id)
	if err != nil {
		return nil, err
	}
	r.trees[id] = p
	return p, nil
}

// readTreePack reads a whole tree pack and checks it against its id.
func (r *Repository) readTreePack(ctx context.Context, id ID) ([]byte, error) {
	p, err := storage.ReadAll(ctx, r.be, packName(id))
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("%w: tree pack %s is missing", ErrIntegrity, id.Short())
		}
		return nil, fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
	}
	if Hash(p) != id {
		return nil, fmt.Errorf("%w: tree pack %s does not match its hash", ErrIntegrity, id.Short())
	}
	return p, nil
}
