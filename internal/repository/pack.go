package repository

import (
	"encoding/binary"
	"fmt"
	"math"
)

// BlobType tells data blobs (file content) from tree blobs (directories).
type BlobType uint8

// Blob types, as stored in pack trailers.
const (
	DataBlob BlobType = 1
	TreeBlob BlobType = 2
)

func (t BlobType) String() string {
	switch t {
	case DataBlob:
		return "data"
	case TreeBlob:
		return "tree"
	}
	return fmt.Sprintf("blobtype(%d)", uint8(t))
}

// MarshalText implements encoding.TextMarshaler.
func (t BlobType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (t *BlobType) UnmarshalText(b []byte) error {
	switch string(b) {
	case "data":
		*t = DataBlob
	case "tree":
		*t = TreeBlob
	default:
		return fmt.Errorf("unknown blob type %q", b)
	}
	return nil
}

const (
	packMagic        = "BBPK"
	packTrailerMagic = "BBPT"
	packHeaderSize   = 8
	packEntrySize    = 42
	packFooterSize   = 8 // trailer length + magic
)

// PackedBlob locates one blob inside a pack.
type PackedBlob struct {
	ID          ID       `json:"id"`
	Type        BlobType `json:"type"`
	Offset      uint32   `json:"offset"`
	Length      uint32   `json:"length"`
	RawLength   uint32   `json:"raw_length"`
	Compression string   `json:"compression,omitempty"`
}

func (b PackedBlob) compressed() bool { return b.Compression == "zstd" }

// appendPackHeader appends the 8-byte pack header.
func appendPackHeader(b []byte, seal *sealer) []byte {
	b = append(b, packMagic...)
	if seal != nil {
		return append(b, 1, encryptionAESGCM, 0, 0)
	}
	return append(b, 1, encryptionNone, 0, 0)
}

// appendPackTrailer appends the entries (sealed, for an encrypted
// repository), their length and the magic.
func appendPackTrailer(out []byte, blobs []PackedBlob, seal *sealer) []byte {
	if seal != nil {
		start := len(out)
		out = seal.seal(out, appendPackEntries(nil, blobs), trailerAD())
		out = binary.LittleEndian.AppendUint32(out, uint32(len(out)-start))
		return append(out, packTrailerMagic...)
	}
	start := len(out)
	out = appendPackEntries(out, blobs)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(out)-start))
	return append(out, packTrailerMagic...)
}

// appendPackEntries appends the 42-byte trailer entries of blobs.
func appendPackEntries(out []byte, blobs []PackedBlob) []byte {
	var e [packEntrySize]byte
	for _, b := range blobs {
		e[0] = byte(b.Type)
		e[1] = 0
		if b.compressed() {
			e[1] = compressionZstd
		}
		copy(e[2:34], b.ID[:])
		binary.LittleEndian.PutUint32(e[34:], b.Length)
		binary.LittleEndian.PutUint32(e[38:], b.RawLength)
		out = append(out, e[:]...)
	}
	return out
}

// openTrailer returns an encrypted pack's trailer (sealed entries and
// footer) with its entries decrypted and the footer's length set to theirs,
// for parseTrailer, and the pack size parseTrailer must then be given. An
// unencrypted pack's trailer is returned as it is.
func (c *codec) openTrailer(tail []byte, packSize int64) ([]byte, int64, error) {
	if c.seal == nil {
		return tail, packSize, nil
	}
	if len(tail) < packFooterSize+sealOverhead || string(tail[len(tail)-4:]) != packTrailerMagic {
		return nil, 0, fmt.Errorf("%w: not a pack (bad trailer)", ErrIntegrity)
	}
	end := len(tail) - packFooterSize
	if int(binary.LittleEndian.Uint32(tail[end:])) != end {
		return nil, 0, fmt.Errorf("%w: pack trailer length invalid", ErrIntegrity)
	}
	entries, err := c.seal.open(nil, tail[:end], trailerAD())
	if err != nil {
		return nil, 0, fmt.Errorf("%w: pack trailer does not authenticate", ErrIntegrity)
	}
	out := binary.LittleEndian.AppendUint32(entries, uint32(len(entries)))
	return append(out, packTrailerMagic...), packSize - sealOverhead, nil
}

// parsePack reads the blob list from a whole pack's bytes, decrypting the
// trailer of an encrypted repository's pack.
func (c *codec) parsePack(data []byte) ([]PackedBlob, error) {
	if c.seal == nil {
		return ParsePack(data)
	}
	if len(data) < packHeaderSize+packFooterSize+sealOverhead || string(data[:4]) != packMagic {
		return nil, fmt.Errorf("%w: not a pack (bad header)", ErrIntegrity)
	}
	if data[4] != 1 || data[5] != encryptionAESGCM {
		return nil, fmt.Errorf("%w: pack version %d encryption %d is not this repository's", ErrIntegrity, data[4], data[5])
	}
	tlen := int(binary.LittleEndian.Uint32(data[len(data)-packFooterSize:]))
	end := len(data) - packFooterSize
	if tlen < sealOverhead || tlen > end-packHeaderSize {
		return nil, fmt.Errorf("%w: pack trailer length %d invalid", ErrIntegrity, tlen)
	}
	tail, size, err := c.openTrailer(data[end-tlen:], int64(len(data)))
	if err != nil {
		return nil, err
	}
	return parseTrailer(tail, size, sealOverhead)
}

// ParsePack reads the blob list from a whole pack's bytes.
func ParsePack(data []byte) ([]PackedBlob, error) {
	if len(data) < packHeaderSize+packFooterSize || string(data[:4]) != packMagic || string(data[len(data)-4:]) != packTrailerMagic {
		return nil, fmt.Errorf("%w: not a pack (bad header or trailer magic)", ErrIntegrity)
	}
	if data[4] != 1 || data[5] != encryptionNone {
		return nil, fmt.Errorf("%w: pack version %d encryption %d unknown", ErrUnsupportedFormat, data[4], data[5])
	}
	tlen := int(binary.LittleEndian.Uint32(data[len(data)-packFooterSize:]))
	end := len(data) - packFooterSize
	if tlen%packEntrySize != 0 || tlen > end-packHeaderSize {
		return nil, fmt.Errorf("%w: pack trailer length %d invalid", ErrIntegrity, tlen)
	}
	return parseTrailer(data[end-tlen:], int64(len(data)), 0)
}

// parseTrailer decodes a pack's trailer, its entries followed by the
// footer, given the pack's size and what sealing adds to each blob (0, or
// sealOverhead in an encrypted repository), and checks that the blobs fill
// the pack between header and trailer exactly.
func parseTrailer(tail []byte, packSize int64, overhead uint32) ([]PackedBlob, error) {
	if len(tail) < packFooterSize || string(tail[len(tail)-4:]) != packTrailerMagic {
		return nil, fmt.Errorf("%w: not a pack (bad trailer magic)", ErrIntegrity)
	}
	end := len(tail) - packFooterSize
	if tlen := int(binary.LittleEndian.Uint32(tail[end:])); tlen != end || tlen%packEntrySize != 0 {
		return nil, fmt.Errorf("%w: pack trailer length %d invalid", ErrIntegrity, tlen)
	}
	off := uint64(packHeaderSize)
	var blobs []PackedBlob
	for p := 0; p < end; p += packEntrySize {
		e := tail[p : p+packEntrySize]
		b := PackedBlob{Type: BlobType(e[0]), Length: binary.LittleEndian.Uint32(e[34:]), RawLength: binary.LittleEndian.Uint32(e[38:]), Offset: uint32(off)}
		copy(b.ID[:], e[2:34])
		if b.Type != DataBlob && b.Type != TreeBlob {
			return nil, fmt.Errorf("%w: pack trailer names unknown blob type %d", ErrIntegrity, e[0])
		}
		switch e[1] {
		case compressionNone:
		case compressionZstd:
			b.Compression = "zstd"
		default:
			return nil, fmt.Errorf("%w: pack trailer names unknown compression %d", ErrIntegrity, e[1])
		}
		if msg := checkLengths(b, overhead); msg != "" {
			return nil, fmt.Errorf("%w: pack trailer names %s", ErrIntegrity, msg)
		}
		if off > math.MaxUint32 {
			return nil, fmt.Errorf("%w: pack trailer names a blob beyond 4 GiB", ErrIntegrity)
		}
		off += uint64(b.Length)
		blobs = append(blobs, b)
	}
	if off != uint64(packSize)-uint64(len(tail)) {
		return nil, fmt.Errorf("%w: pack trailer does not match its contents", ErrIntegrity)
	}
	return blobs, nil
}

// checkLengths says what is wrong with a blob entry's lengths, given what
// sealing adds to a stored blob, or "": a raw blob's stored length is its
// raw length and the seal.
func checkLengths(b PackedBlob, overhead uint32) string {
	switch {
	case b.Length < overhead:
		return fmt.Sprintf("a blob of %d bytes, shorter than its seal", b.Length)
	case !b.compressed() && b.Length-overhead != b.RawLength:
		return fmt.Sprintf("a raw blob of %d bytes with raw length %d", b.Length, b.RawLength)
	}
	return ""
}

// packName is the storage name of a pack.
func packName(id ID) string {
	s := id.String()
	return "data/" + s[:2] + "/" + s
}
