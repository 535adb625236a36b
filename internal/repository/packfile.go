package repository

import (
	"bufio"
	"fmt"
	"os"

	"github.com/zeebo/blake3"
)

// packFile writes one pack into a staged file, hashing as it goes, so a
// backup holds no pack in memory whatever the pack size.
type packFile struct {
	typ   BlobType
	f     *os.File
	w     *bufio.Writer
	h     *blake3.Hasher
	size  int
	blobs []PackedBlob
	seal  *sealer // seals the trailer; blobs come sealed
	// whole is set on a pack copied whole from another repository
	// (copyrun.go): f holds it complete, and finish only returns it.
	whole *IndexPack
}

func newPackFile(typ BlobType, f *os.File, seal *sealer) (*packFile, error) {
	p := &packFile{typ: typ, f: f, w: bufio.NewWriterSize(f, 256<<10), h: blake3.New(), seal: seal}
	if err := p.write(appendPackHeader(nil, seal)); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *packFile) write(b []byte) error {
	p.h.Write(b)
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("cannot write pack: %w", err)
	}
	p.size += len(b)
	return nil
}

// add appends a blob's stored bytes (sealed already, in an encrypted
// repository).
func (p *packFile) add(id ID, stored []byte, rawLen int, compressed bool) error {
	b := PackedBlob{ID: id, Type: p.typ, Offset: uint32(p.size), Length: uint32(len(stored)), RawLength: uint32(rawLen)}
	if compressed {
		b.Compression = "zstd"
	}
	if err := p.write(stored); err != nil {
		return err
	}
	p.blobs = append(p.blobs, b)
	return nil
}

// finish writes the trailer and returns the pack's id, size and blobs.
func (p *packFile) finish() (ID, int64, []PackedBlob, error) {
	if p.whole != nil {
		return p.whole.ID, p.whole.Size, p.whole.Blobs, nil
	}
	if err := p.write(appendPackTrailer(nil, p.blobs, p.seal)); err != nil {
		return ID{}, 0, nil, err
	}
	if err := p.w.Flush(); err != nil {
		return ID{}, 0, nil, fmt.Errorf("cannot write pack: %w", err)
	}
	var id ID
	p.h.Sum(id[:0])
	return id, int64(p.size), p.blobs, nil
}
