package repository

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zeebo/blake3"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// PackScanner reads packs front to back, hashing every byte, and hands out
// the verified plaintext of the blobs asked for. It reuses its buffers, so
// memory does not grow with the pack size. One scanner serves one goroutine.
type PackScanner struct {
	r      *Repository
	br     *bufio.Reader
	stored []byte
	raw    []byte
}

// NewPackScanner returns a scanner for r's packs.
func (r *Repository) NewPackScanner() *PackScanner {
	return &PackScanner{r: r, br: bufio.NewReaderSize(nil, 1<<20)}
}

// Scan reads pack id once and calls fn, in offset order, with each wanted
// blob's plaintext after checking the blob's hash; the slice is valid only
// during the call. When the whole pack has been read its hash is checked:
// a mismatch anywhere in the pack, blob or not, fails with ErrIntegrity,
// after fn may already have seen the blobs that verified.
func (s *PackScanner) Scan(ctx context.Context, id ID, wanted []Location, fn func(Location, []byte) error) error {
	size, ok := s.r.index.PackSize(id)
	if !ok {
		return fmt.Errorf("%w: pack %s is in no index", ErrIntegrity, id.Short())
	}
	rc, err := s.r.be.Get(ctx, packName(id), 0, -1)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: pack %s is missing", ErrIntegrity, id.Short())
		}
		return fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
	}
	defer rc.Close()
	s.br.Reset(rc)
	h := blake3.New()
	var pos int64
	short := func() error {
		return fmt.Errorf("%w: pack %s is shorter than the %d bytes its index says", ErrIntegrity, id.Short(), size)
	}
	for _, loc := range wanted {
		if int64(loc.Offset) < pos {
			return fmt.Errorf("cannot scan pack %s: blobs not in offset order", id.Short())
		}
		n, err := io.CopyN(h, s.br, int64(loc.Offset)-pos)
		pos += n
		if err != nil {
			return short()
		}
		if cap(s.stored) < int(loc.Length) {
			s.stored = make([]byte, loc.Length)
		}
		stored := s.stored[:loc.Length]
		if _, err := io.ReadFull(s.br, stored); err != nil {
			return short()
		}
		h.Write(stored)
		pos += int64(loc.Length)
		if loc.compressed() && cap(s.raw) < int(loc.RawLength) {
			s.raw = make([]byte, 0, loc.RawLength)
		}
		raw, err := s.r.decodeBlob(loc, stored, s.raw)
		if err != nil {
			return err
		}
		if err := fn(loc, raw); err != nil {
			return err
		}
	}
	rest, err := io.Copy(h, s.br)
	if err != nil {
		return fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
	}
	if pos+rest != size {
		return fmt.Errorf("%w: pack %s has %d bytes, its index says %d", ErrIntegrity, id.Short(), pos+rest, size)
	}
	var got ID
	h.Sum(got[:0])
	if got != id {
		return fmt.Errorf("%w: pack %s does not match its hash: it is damaged", ErrIntegrity, id.Short())
	}
	return nil
}
