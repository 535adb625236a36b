package repository

import (
	"errors"
	"reflect"
	"testing"
)

func sampleIndex() indexFile {
	return indexFile{Packs: []IndexPack{
		{ID: Hash([]byte("p1")), Size: 1 << 20, Blobs: []PackedBlob{
			{ID: Hash([]byte("a")), Type: DataBlob, Offset: 8, Length: 100, RawLength: 180, Compression: "zstd"},
			{ID: Hash([]byte("b")), Type: DataBlob, Offset: 108, Length: 4 << 20, RawLength: 4 << 20},
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
	} {
		if _, err := c.openIndex(data); !errors.Is(err, ErrIntegrity) {
			t.Errorf("%s: %v, want ErrIntegrity", name, err)
		}
	}
}

func FuzzOpenIndex(f *testing.F) {
	c, err := newCodec()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(c.sealIndex(sampleIndex()))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := c.openIndex(data)
		if err == nil {
			if _, err := c.openIndex(c.sealIndex(idx)); err != nil {
				t.Fatalf("re-encoded index does not decode: %v", err)
			}
		}
	})
}
