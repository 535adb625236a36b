package repository

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Index files are binary (docs/repository-format.md, "Index files"):
// decoding tens of thousands of JSON entries took longer than the rest of
// an unchanged backup. Payload, inside an envelope of kind 1 without
// compression (ids do not compress):
//
//	uvarint packs
//	per pack: id [32], uvarint size, uvarint blobs,
//	  per blob: id [32], type u8, compression u8,
//	            uvarint offset, uvarint length, uvarint raw length

// sealIndex encodes an index file.
func (c *codec) sealIndex(f indexFile) []byte {
	n := envelopeSize + 10
	for _, p := range f.Packs {
		n += 32 + 20 + len(p.Blobs)*(34+15)
	}
	out := c.envelopeHeader(kindIndex, compressionNone, n)
	if c.seal != nil {
		plain := c.appendIndex(make([]byte, 0, n), f)
		return c.seal.seal(out, plain, out[:envelopeSize])
	}
	return c.appendIndex(out, f)
}

// appendIndex appends the binary index payload of f to out.
func (c *codec) appendIndex(out []byte, f indexFile) []byte {
	out = binary.AppendUvarint(out, uint64(len(f.Packs)))
	for _, p := range f.Packs {
		out = append(out, p.ID[:]...)
		out = binary.AppendUvarint(out, uint64(p.Size))
		out = binary.AppendUvarint(out, uint64(len(p.Blobs)))
		for _, b := range p.Blobs {
			comp := compressionNone
			if b.compressed() {
				comp = compressionZstd
			}
			out = append(out, b.ID[:]...)
			out = append(out, byte(b.Type), comp)
			out = binary.AppendUvarint(out, uint64(b.Offset))
			out = binary.AppendUvarint(out, uint64(b.Length))
			out = binary.AppendUvarint(out, uint64(b.RawLength))
		}
	}
	return out
}

// openIndex decodes an index file.
func (c *codec) openIndex(data []byte) (indexFile, error) {
	var f indexFile
	payload, err := c.openPayload(kindIndex, data)
	if err != nil {
		return f, err
	}
	d := decoder{buf: payload}
	packs := d.count(32 + 3)
	for range packs {
		var p IndexPack
		d.id(&p.ID)
		p.Size = d.packSize()
		blobs := d.count(34 + 3)
		p.Blobs = make([]PackedBlob, 0, blobs)
		for range blobs {
			p.Blobs = append(p.Blobs, d.blob(p.Size, c.overhead()))
		}
		f.Packs = append(f.Packs, p)
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return indexFile{}, fmt.Errorf("%w: index file is malformed: %v", ErrIntegrity, d.err)
	}
	return f, nil
}

// packSize reads a pack's size: at least a header and a footer.
func (d *decoder) packSize() int64 {
	v := d.uvarint()
	if v < packHeaderSize+packFooterSize || v > math.MaxInt64 {
		d.fail("pack size out of range")
	}
	return int64(v)
}

// blob reads one blob entry of a pack of the given size and checks that it
// is one a pack writer makes: of a known type and compression, between the
// pack's header and footer, and a raw blob as long as its plaintext and
// what sealing adds (overhead).
func (d *decoder) blob(packSize int64, overhead uint32) PackedBlob {
	var b PackedBlob
	d.id(&b.ID)
	b.Type = BlobType(d.byte())
	switch d.byte() {
	case compressionNone:
	case compressionZstd:
		b.Compression = "zstd"
	default:
		d.fail("unknown compression")
	}
	b.Offset = d.uint32()
	b.Length = d.uint32()
	b.RawLength = d.uint32()
	switch {
	case b.Type != DataBlob && b.Type != TreeBlob:
		d.fail("unknown blob type")
	case b.Offset < packHeaderSize || uint64(b.Offset)+uint64(b.Length) > uint64(packSize)-packFooterSize:
		d.fail("blob outside its pack")
	default:
		if msg := checkLengths(b, overhead); msg != "" {
			d.fail(msg)
		}
	}
	return b
}

// decoder reads the binary index payload, remembering the first error.
type decoder struct {
	buf []byte
	err error
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s", msg)
	}
	d.buf = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.buf)
	if n <= 0 || (n > 1 && d.buf[n-1] == 0) {
		// A last byte of 0 after others is a longer encoding than
		// needed: each index has exactly one encoding.
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

// count reads an element count that cannot exceed what the rest could hold.
func (d *decoder) count(minSize int) int {
	v := d.uvarint()
	if v > uint64(len(d.buf)/minSize) {
		d.fail("count larger than the data")
		return 0
	}
	return int(v)
}

func (d *decoder) uint32() uint32 {
	v := d.uvarint()
	if v > 1<<32-1 {
		d.fail("value out of range")
	}
	return uint32(v)
}

func (d *decoder) byte() byte {
	if len(d.buf) < 1 {
		d.fail("short data")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) id(id *ID) {
	if len(d.buf) < 32 {
		d.fail("short data")
		return
	}
	copy(id[:], d.buf[:32])
	d.buf = d.buf[32:]
}
