package repository

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/allocs"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// rleFrame returns a zstd frame (RFC 8878) of n bytes 'x' in RLE blocks:
// 4 bytes of input per 128 KiB of output. Its header claims a content size
// of claim bytes, or none when claim is negative.
func rleFrame(claim int64, n int) []byte {
	out := []byte{0x28, 0xb5, 0x2f, 0xfd}
	if claim < 0 {
		out = append(out, 0x00, 0x68) // no content size; an 8 MiB window
	} else {
		out = append(out, 0xc0, 0x68) // 8-byte content size; an 8 MiB window
		out = binary.LittleEndian.AppendUint64(out, uint64(claim))
	}
	for {
		size := min(n, 128<<10)
		n -= size
		h := uint32(size)<<3 | 1<<1 // an RLE block
		if n == 0 {
			h |= 1 // the last one
		}
		out = append(out, byte(h), byte(h>>8), byte(h>>16), 'x')
		if n == 0 {
			return out
		}
	}
}

// TestDecodeBlobBoundsMemory: a compressed blob is decoded into at most its
// raw length, which is at most a chunk, whatever its zstd frame says.
// Before, a frame claiming nearly 1 GiB had the decoder allocate that much
// for a 20-byte blob, and an index claiming 64 MiB for a blob of 2 KiB
// of RLE blocks had it decoded, in a repository of 16 KiB chunks.
func TestDecodeBlobBoundsMemory(t *testing.T) {
	r := newTestRepo(t, mem.New("t"), smallPacks)
	chunk := smallPacks.ChunkSize
	blob := func(stored []byte, rawLength int, content []byte) Location {
		return Location{PackedBlob: PackedBlob{ID: Hash(content), Type: DataBlob, Length: uint32(len(stored)),
			RawLength: uint32(rawLength), Compression: "zstd"}}
	}
	lie := rleFrame(1<<30-1, 16)
	bomb := rleFrame(-1, 64<<20)
	for name, tc := range map[string]struct {
		stored []byte
		loc    Location
	}{
		"content size claimed by the frame": {lie, blob(lie, 16, bytes.Repeat([]byte{'x'}, 16))},
		"raw length over the chunk size":    {bomb, blob(bomb, 64<<20, bytes.Repeat([]byte{'x'}, 64<<20))},
	} {
		var err error
		n := allocs.Bytes(func() { _, err = r.decodeBlob(tc.loc, tc.stored, nil) })
		if !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: decodeBlob = %v, want ErrIntegrity", name, err)
		}
		if n > allocs.Slack {
			t.Errorf("%s: decodeBlob of %d bytes allocated %d", name, len(tc.stored), n)
		}
	}
	// A blob of exactly one chunk still decodes, into the caller's buffer.
	full := rleFrame(int64(chunk), chunk)
	want := bytes.Repeat([]byte{'x'}, chunk)
	buf := make([]byte, 0, chunk)
	got, err := r.decodeBlob(blob(full, chunk, want), full, buf)
	if err != nil || !bytes.Equal(got, want) || &got[0] != &buf[:1][0] {
		t.Errorf("decodeBlob of one chunk: %v (same buffer: %v)", err, err == nil && &got[0] == &buf[:1][0])
	}
}

// TestEnvelopeBoundsMemory: an envelope's payload is at most
// maxEnvelopePayload bytes. Before, a lock of 26 bytes whose frame claimed
// 300 MiB had that much allocated by every command that read the locks
// (under the limit, a frame's claim is still allocated, then refused).
func TestEnvelopeBoundsMemory(t *testing.T) {
	c := newTestCodec(t)
	seal := func(frame []byte) []byte {
		return append([]byte{'B', 'B', 'K', '1', kindLock, encryptionNone, compressionZstd, 0}, frame...)
	}
	data := seal(rleFrame(300<<20, 16))
	var err error
	n := allocs.Bytes(func() { _, err = c.openPayload(kindLock, data) })
	if !errors.Is(err, ErrIntegrity) {
		t.Errorf("openPayload = %v, want ErrIntegrity", err)
	}
	if n > allocs.Slack {
		t.Errorf("openPayload of %d bytes allocated %d", len(data), n)
	}
	// Up to the limit, payloads decode.
	var payload []byte
	payload, err = c.openPayload(kindLock, seal(rleFrame(-1, 1<<20)))
	if err != nil || len(payload) != 1<<20 {
		t.Errorf("a payload of 1 MiB: %d bytes, %v", len(payload), err)
	}
}

// TestOpenRefusesBlobsOverChunkSize: an index file naming a data blob
// larger than a chunk, or a compressed blob whose raw length is, fails
// Open: readers allocate these lengths. Before, it opened.
func TestOpenRefusesBlobsOverChunkSize(t *testing.T) {
	chunk := uint32(smallPacks.ChunkSize)
	for name, b := range map[string]PackedBlob{
		"raw data blob":        {Type: DataBlob, Offset: 8, Length: chunk + 1, RawLength: chunk + 1},
		"compressed data blob": {Type: DataBlob, Offset: 8, Length: 100, RawLength: 1 << 31, Compression: "zstd"},
		"compressed tree blob": {Type: TreeBlob, Offset: 8, Length: 100, RawLength: chunk + 1, Compression: "zstd"},
	} {
		be := mem.New("t")
		r := newTestRepo(t, be, smallPacks)
		b.ID = Hash([]byte(name))
		data := r.codec.sealIndex(indexFile{Packs: []IndexPack{{ID: Hash([]byte("pack")), Size: 1 << 20, Blobs: []PackedBlob{b}}}})
		putObject(t, be, "index/"+Hash(data).String(), data)
		if _, err := Open(t.Context(), be, Options{}); !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: Open = %v, want ErrIntegrity", name, err)
		}
	}
	// A raw tree blob may be larger than a chunk: a directory of many
	// entries.
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	tree := PackedBlob{ID: Hash([]byte("tree")), Type: TreeBlob, Offset: 8, Length: chunk * 4, RawLength: chunk * 4}
	data := r.codec.sealIndex(indexFile{Packs: []IndexPack{{ID: Hash([]byte("pack")), Size: 1 << 20, Blobs: []PackedBlob{tree}}}})
	putObject(t, be, "index/"+Hash(data).String(), data)
	if _, err := Open(t.Context(), be, Options{}); err != nil {
		t.Errorf("large tree blob: Open = %v", err)
	}
}
