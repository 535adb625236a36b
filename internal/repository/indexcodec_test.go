package repository

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/allocs"
)

func sampleIndex() indexFile {
	return indexFile{Packs: []IndexPack{
		{ID: Hash([]byte("p1")), Size: 2<<20 - 1, Blobs: []PackedBlob{
			{ID: Hash([]byte("a")), Type: DataBlob, Offset: 8, Length: 100, RawLength: 180, Compression: "zstd"},
			{ID: Hash([]byte("b")), Type: DataBlob, Offset: 108, Length: 1 << 20, RawLength: 1 << 20},
		}},
		{ID: Hash([]byte("p2")), Size: 77, Blobs: []PackedBlob{{ID: Hash([]byte("t")), Type: TreeBlob, Offset: 8, Length: 20, RawLength: 20}}},
	}}
}

func TestIndexCodecRoundTrip(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	in := sampleIndex()
	got, err := c.openIndex(c.sealIndex(in))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
	}
}

func TestIndexCodecRejectsDamage(t *testing.T) {
	c, err := newCodec()
	if err != nil {
		t.Fatal(err)
	}
	good := c.sealIndex(sampleIndex())
	for name, data := range map[string][]byte{
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"huge count":     append(append([]byte{}, good[:envelopeSize]...), 0xff, 0xff, 0xff, 0xff, 0x0f),
		"bad blob type":  func() []byte { d := append([]byte{}, good...); d[envelopeSize+1+32+3+1+32] = 9; return d }(),
		// Each of these decoded before: a blob outside its pack, an
		// unknown compression read as none, a raw blob whose raw length
		// is not its length, a pack smaller than a header and footer, a
		// varint longer than needed (a second encoding of one index).
		"blob outside its pack": sealWith(c, func(f *indexFile) { f.Packs[1].Blobs[0].Length = 70 }),
		"unknown compression":   func() []byte { d := append([]byte{}, good...); d[envelopeSize+1+32+3+1+32+1] = 7; return d }(),
		"raw length differs":    sealWith(c, func(f *indexFile) { f.Packs[1].Blobs[0].RawLength = 21 }),
		"pack too small":        sealWith(c, func(f *indexFile) { f.Packs[1].Size = 15; f.Packs[1].Blobs = nil }),
		"long varint":           append(append([]byte{}, good[:envelopeSize]...), 0x80, 0x00),
	} {
		if _, err := c.openIndex(data); !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: %v, want ErrIntegrity", name, err)
		}
	}
}

// sealWith encodes sampleIndex changed by change.
func sealWith(c *codec, change func(*indexFile)) []byte {
	f := sampleIndex()
	change(&f)
	return c.sealIndex(f)
}

// FuzzOpenIndex decodes each input as an index file, and its payload as
// that of an encrypted repository's index file (sealed here with a test
// key, as a key holder could write it).
func FuzzOpenIndex(f *testing.F) {
	c, sc := fuzzCodec(f), fuzzSealedCodec(f)
	f.Add(c.sealIndex(sampleIndex()))
	f.Add(c.sealIndex(indexFile{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		checkOpenIndex(t, c, data)
		if len(data) >= envelopeSize {
			header := bytes.Clone(data[:envelopeSize])
			header[5] = encryptionAESGCM
			checkOpenIndex(t, sc, sc.seal.seal(header, data[envelopeSize:], header))
		}
	})
}

// checkOpenIndex decodes data with c and checks what any accepted index
// file must hold, its memory, and its round trip: exact for a plain one.
func checkOpenIndex(t *testing.T, c *codec, data []byte) {
	t.Helper()
	var idx indexFile
	var err error
	n := allocs.Bytes(func() { idx, err = c.openIndex(data) })
	if len(data) > 6 && data[6] == compressionNone {
		checkAllocs(t, n, 4*len(data))
	}
	if err != nil {
		checkRefusal(t, err)
		return
	}
	for _, p := range idx.Packs {
		if p.Size < packHeaderSize+packFooterSize {
			t.Fatalf("pack of %d bytes", p.Size)
		}
		for _, b := range p.Blobs {
			checkBlobFields(t, b, c.overhead())
			if b.Offset < packHeaderSize || uint64(b.Offset)+uint64(b.Length) > uint64(p.Size)-packFooterSize {
				t.Fatalf("blob at %d of %d bytes in a pack of %d", b.Offset, b.Length, p.Size)
			}
		}
	}
	sealed := c.sealIndex(idx)
	back, err := c.openIndex(sealed)
	if err != nil {
		t.Fatalf("re-encoded index does not decode: %v", err)
	}
	if !reflect.DeepEqual(back, idx) {
		t.Fatalf("index changes on a round trip:\n%+v\n%+v", idx, back)
	}
	// One index, one encoding: an uncompressed plain index file is exactly
	// what sealIndex makes of it (byte 7 is reserved).
	if c.seal == nil && data[6] == compressionNone && (!bytes.Equal(sealed[:7], data[:7]) || !bytes.Equal(sealed[8:], data[8:])) {
		t.Fatalf("accepted an index file that encodes back differently:\n% x\n% x", data, sealed)
	}
}
