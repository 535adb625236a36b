package repository

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/zeebo/blake3"

	"github.com/banyan-backup/banyan-backup/internal/osfile"
	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// PackScanner reads packs front to back, hashing every byte (Scan) or every
// blob asked for (ScanBlobs), and hands out the verified plaintext of the
// blobs asked for. It reuses its buffers, so memory does not grow with the
// pack size. One scanner serves one goroutine.
//
// With Options.PackReads, packs are read in ranged Gets, several at once,
// while the scanner works through the ranges that have come, and a range
// whose download is cut off is asked for again (storage.ReadAhead).
type PackScanner struct {
	r      *Repository
	br     *bufio.Reader      // for one Get per pack
	ahead  *storage.ReadAhead // for ranged reads; nil: one Get per pack
	stored []byte
	raw    []byte
}

// NewPackScanner returns a scanner for r's packs.
func (r *Repository) NewPackScanner() *PackScanner {
	s := &PackScanner{r: r}
	if pr := r.opts.PackReads; pr.Parallel > 1 && pr.Chunk > 0 {
		s.ahead = storage.NewReadAhead(pr.Chunk, pr.Parallel)
	} else {
		s.br = bufio.NewReaderSize(nil, 1<<20)
	}
	return s
}

// storedBuf returns n bytes of the scanner's buffer for a blob's stored
// bytes, placed so that its plaintext starts on a page boundary (after the
// nonce, in an encrypted repository): a restore then writes a large blob
// straight from it to the disk (osfile.Direct), which needs the memory
// aligned.
func (s *PackScanner) storedBuf(n int) []byte {
	skip := 0
	if s.r.codec.seal != nil {
		skip = nonceSize
	}
	if cap(s.stored) < n+osfile.DirectAlign {
		s.stored = make([]byte, n+osfile.DirectAlign)
	}
	buf := s.stored[:cap(s.stored)]
	off := osfile.AlignedAt(buf, skip)
	return buf[off : off+n]
}

// open starts reading pack id of size bytes.
func (s *PackScanner) open(ctx context.Context, id ID, size int64) (io.ReadCloser, error) {
	if s.ahead == nil {
		return s.r.be.Get(ctx, packName(id), 0, -1)
	}
	return s.ahead.Open(ctx, s.r.be, packName(id), size), nil
}

// Scan reads pack id once and calls fn, in offset order, with each wanted
// blob's plaintext after checking the blob's hash; the slice is valid only
// during the call. When the whole pack has been read its hash is checked:
// a mismatch anywhere in the pack, blob or not, fails with ErrIntegrity,
// after fn may already have seen the blobs that verified.
func (s *PackScanner) Scan(ctx context.Context, id ID, wanted []Location, fn func(Location, []byte) error) error {
	return s.scan(ctx, id, wanted, checkPack, fn)
}

// ScanBlobs is Scan checking only the wanted blobs' hashes: it reads pack
// id from its start to the end of the last wanted blob and neither hashes
// nor reads the rest (other blobs' damage is verify's to find). Every byte
// fn is given is still checked against its blob's id, so what a restore
// writes is verified, at one hash pass instead of two.
func (s *PackScanner) ScanBlobs(ctx context.Context, id ID, wanted []Location, fn func(Location, []byte) error) error {
	return s.scan(ctx, id, wanted, checkBlobs, fn)
}

// scanCheck is what a scan hashes: the blobs asked for, or the whole pack
// besides.
type scanCheck int

const (
	checkBlobs scanCheck = iota
	checkPack
)

// scan is Scan or ScanBlobs, as check says.
func (s *PackScanner) scan(ctx context.Context, id ID, wanted []Location, check scanCheck, fn func(Location, []byte) error) error {
	whole := check == checkPack
	size, ok := s.r.index.PackSize(id)
	if !ok {
		return fmt.Errorf("%w: pack %s is in no index", ErrIntegrity, id.Short())
	}
	missing := func() error { return fmt.Errorf("%w: pack %s is missing", ErrIntegrity, id.Short()) }
	readEnd := size
	var h io.Writer = io.Discard
	var ph *blake3.Hasher
	if whole {
		ph = blake3.New()
		h = ph
	} else if len(wanted) > 0 {
		last := wanted[len(wanted)-1]
		readEnd = min(size, int64(last.Offset)+int64(last.Length))
	}
	rc, err := s.open(ctx, id, readEnd)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return missing()
		}
		return fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
	}
	defer rc.Close()
	// Ranges read ahead are in memory already: no buffer in between.
	var in io.Reader = rc
	if s.ahead == nil {
		s.br.Reset(rc)
		in = s.br
	}
	var pos int64
	// short classifies a read that ended before the pack's indexed size.
	short := func(err error) error {
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return missing()
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%w: pack %s is shorter than the %d bytes its index says", ErrIntegrity, id.Short(), size)
		}
		return fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
	}
	for _, loc := range wanted {
		if int64(loc.Offset) < pos {
			return fmt.Errorf("cannot scan pack %s: blobs not in offset order", id.Short())
		}
		n, err := io.CopyN(h, in, int64(loc.Offset)-pos)
		pos += n
		if err != nil {
			return short(err)
		}
		stored := s.storedBuf(int(loc.Length))
		if _, err := io.ReadFull(in, stored); err != nil {
			return short(err)
		}
		if whole {
			h.Write(stored)
		}
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
	if !whole {
		return nil
	}
	rest, err := io.Copy(h, in)
	if err != nil {
		return short(err)
	}
	if pos+rest != size {
		return fmt.Errorf("%w: pack %s has %d bytes, its index says %d", ErrIntegrity, id.Short(), pos+rest, size)
	}
	var got ID
	ph.Sum(got[:0])
	if got != id {
		return fmt.Errorf("%w: pack %s does not match its hash: it is damaged", ErrIntegrity, id.Short())
	}
	return nil
}
