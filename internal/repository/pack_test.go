package repository

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/allocs"
)

type packInput struct {
	raw        []byte
	stored     []byte
	compressed bool
}

// buildPack assembles a pack of typ from inputs with the packFile that
// backups use, and checks the id and size it reports.
func buildPack(typ BlobType, in []packInput) ([]byte, []PackedBlob) {
	f, err := os.CreateTemp("", "pack-test-*")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	p, err := newPackFile(typ, f, nil)
	if err != nil {
		panic(err)
	}
	for _, b := range in {
		if err := p.add(Hash(b.raw), b.stored, len(b.raw), b.compressed); err != nil {
			panic(err)
		}
	}
	id, size, blobs, err := p.finish()
	if err != nil {
		panic(err)
	}
	data, err := os.ReadFile(f.Name())
	if err != nil {
		panic(err)
	}
	if Hash(data) != id || int64(len(data)) != size {
		panic("packFile reports another id or size than it wrote")
	}
	return data, blobs
}

func samplePack(t *testing.T) ([]byte, []PackedBlob, []packInput) {
	t.Helper()
	c := newTestCodec(t)
	text := textBlob(1, 5000)
	in := []packInput{
		{raw: []byte("tiny"), stored: []byte("tiny")},
		{raw: randBlob(1, 3000), stored: randBlob(1, 3000)},
		{raw: text, stored: c.enc.EncodeAll(text, nil), compressed: true},
		{raw: []byte{}, stored: []byte{}},
	}
	data, blobs := buildPack(DataBlob, in)
	return data, blobs, in
}

func TestPackBuildParse(t *testing.T) {
	data, built, in := samplePack(t)
	if string(data[:4]) != "BBPK" || data[4] != 1 || data[5] != 0 || data[6] != 0 || data[7] != 0 {
		t.Errorf("header % x, want BBPK 01 00 00 00", data[:8])
	}
	if string(data[len(data)-4:]) != "BBPT" {
		t.Errorf("trailer magic %q", data[len(data)-4:])
	}
	tlen := binary.LittleEndian.Uint32(data[len(data)-8:])
	if int(tlen) != packEntrySize*len(in) {
		t.Errorf("trailer length %d, want %d", tlen, packEntrySize*len(in))
	}
	parsed, err := ParsePack(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parsed, built) {
		t.Fatalf("ParsePack = %+v\nbuilder   = %+v", parsed, built)
	}
	off := uint32(packHeaderSize)
	for i, b := range parsed {
		if b.ID != Hash(in[i].raw) || b.Type != DataBlob || b.Offset != off ||
			b.Length != uint32(len(in[i].stored)) || b.RawLength != uint32(len(in[i].raw)) ||
			b.compressed() != in[i].compressed {
			t.Errorf("blob %d = %+v", i, b)
		}
		if got := data[b.Offset : b.Offset+b.Length]; !bytes.Equal(got, in[i].stored) {
			t.Errorf("blob %d: bytes at offset %d differ from stored bytes", i, b.Offset)
		}
		off += b.Length
	}
	if int(off)+int(tlen)+packFooterSize != len(data) {
		t.Errorf("blobs end at %d, trailer %d, footer %d: pack has %d bytes", off, tlen, packFooterSize, len(data))
	}
}

func TestParsePackEmpty(t *testing.T) {
	data, _ := buildPack(TreeBlob, nil)
	if len(data) != packHeaderSize+packFooterSize {
		t.Fatalf("empty pack has %d bytes", len(data))
	}
	blobs, err := ParsePack(data)
	if err != nil || len(blobs) != 0 {
		t.Errorf("ParsePack(empty pack) = %v, %v", blobs, err)
	}
}

func TestParsePackRejects(t *testing.T) {
	good, _, _ := samplePack(t)
	n := len(good)
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	setTrailerLen := func(v uint32) []byte {
		return mod(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[n-8:], v); return b })
	}
	// The second entry's stored length lies at trailer start + 42 + 34.
	tstart := n - packFooterSize - 4*packEntrySize
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrIntegrity},
		{"too short", good[:15], ErrIntegrity},
		{"bad header magic", mod(func(b []byte) []byte { b[0] = 'X'; return b }), ErrIntegrity},
		{"bad trailer magic", mod(func(b []byte) []byte { b[n-1] = 'X'; return b }), ErrIntegrity},
		{"index magic", mod(func(b []byte) []byte { copy(b, "BBK1"); return b }), ErrIntegrity},
		{"unknown version", mod(func(b []byte) []byte { b[4] = 2; return b }), ErrUnsupportedFormat},
		{"unknown encryption", mod(func(b []byte) []byte { b[5] = 1; return b }), ErrUnsupportedFormat},
		{"trailer length not a multiple of 42", setTrailerLen(4*packEntrySize - 1), ErrIntegrity},
		{"trailer length too large", setTrailerLen(uint32(100 * packEntrySize)), ErrIntegrity},
		{"trailer length huge", setTrailerLen(0xffffffff - 0xffffffff%packEntrySize), ErrIntegrity},
		{"trailer length one entry short", setTrailerLen(3 * packEntrySize), ErrIntegrity},
		{"stored length too large", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[tstart+packEntrySize+34:], 3001)
			return b
		}), ErrIntegrity},
		{"stored length too small", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[tstart+packEntrySize+34:], 2999)
			return b
		}), ErrIntegrity},
		{"stored length overflowing", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[tstart+34:], 0xffffffff)
			return b
		}), ErrIntegrity},
		// Accepted before: a raw blob can only verify with its raw
		// length equal to its length.
		{"raw length of a raw blob differs", mod(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[tstart+packEntrySize+38:], 3001)
			return b
		}), ErrIntegrity},
		{"extra byte before trailer", append(append(bytes.Clone(good[:tstart]), 0), good[tstart:]...), ErrIntegrity},
		{"blob bytes cut", append(bytes.Clone(good[:tstart-1]), good[tstart:]...), ErrIntegrity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			blobs, err := ParsePack(tt.data)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParsePack = %v, %v; want %v", blobs, err, tt.want)
			}
			if blobs != nil {
				t.Errorf("ParsePack returned blobs with an error: %v", blobs)
			}
		})
	}
}

func FuzzParsePack(f *testing.F) {
	c, err := newCodec()
	if err != nil {
		f.Fatal(err)
	}
	text := textBlob(2, 2000)
	valid, _ := buildPack(DataBlob, []packInput{
		{raw: []byte("hello"), stored: []byte("hello")},
		{raw: text, stored: c.enc.EncodeAll(text, nil), compressed: true},
	})
	empty, _ := buildPack(TreeBlob, nil)
	f.Add(valid)
	f.Add(empty)
	f.Add(valid[len(valid)-20:])
	f.Add([]byte("BBPK\x01\x00\x00\x00\xff\xff\xff\xffBBPT"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var blobs []PackedBlob
		var err error
		checkAllocs(t, allocs.Bytes(func() { blobs, err = ParsePack(data) }), 4*len(data))
		if err != nil {
			if blobs != nil {
				t.Fatalf("blobs %v returned with error %v", blobs, err)
			}
			checkRefusal(t, err)
			return
		}
		// Whatever parses must describe blobs that lie inside the pack,
		// back to back from the header to the trailer, and the pack must
		// be what a writer of these blobs makes (header bytes 6 and 7 are
		// reserved).
		end := checkPackedBlobs(t, blobs, 0)
		if end+uint64(len(blobs))*packEntrySize+packFooterSize != uint64(len(data)) {
			t.Fatalf("blobs end at %d with %d entries in a %d-byte pack", end, len(blobs), len(data))
		}
		rebuilt := appendPackTrailer(bytes.Clone(data[:end]), blobs, nil)
		if !bytes.Equal(rebuilt, data) || !bytes.Equal(appendPackHeader(nil, nil)[:6], data[:6]) {
			t.Fatalf("accepted a pack that encodes back differently")
		}
	})
}

func TestBlobTypeText(t *testing.T) {
	for _, typ := range []BlobType{DataBlob, TreeBlob} {
		text, err := typ.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back BlobType
		if err := back.UnmarshalText(text); err != nil || back != typ {
			t.Errorf("%v: round trip gave %v, %v", typ, back, err)
		}
	}
	if DataBlob.String() != "data" || TreeBlob.String() != "tree" {
		t.Errorf("names %q %q", DataBlob, TreeBlob)
	}
	var b BlobType
	if err := b.UnmarshalText([]byte("blob")); err == nil {
		t.Error("UnmarshalText(blob) succeeded")
	}
}

func TestPackName(t *testing.T) {
	id := Hash([]byte("pack"))
	if got, want := packName(id), "data/"+id.String()[:2]+"/"+id.String(); got != want {
		t.Errorf("packName = %q, want %q", got, want)
	}
}
