package repository

import (
	"bytes"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// policyCases are blobs with the storage the format's policy prescribes.
func policyCases() []struct {
	name     string
	raw      []byte
	wantZstd bool
} {
	// Compressible first 64 KiB, random after: the probe says yes but the
	// whole blob saves far less than 1/16.
	mixedHead := append(textBlob(3, probeSize), randBlob(4, 1<<20)...)
	// Random first 64 KiB, compressible after: the windows spread over the
	// blob find what pays.
	mixedTail := append(randBlob(5, probeSize), textBlob(6, 3<<20)...)
	// Like a Bluge segment: its first fifth incompressible (stored
	// documents), the rest compressible.
	bluge := append(randBlob(7, 800<<10), textBlob(8, 3200<<10)...)
	// Random but for a compressible quarter in the middle, which the
	// windows miss: stored raw, though compressing would save a little.
	middle := append(append(randBlob(9, 1536<<10), textBlob(10, 1<<20)...), randBlob(11, 1536<<10)...)
	// Saves about a tenth throughout: 9 KiB random, then 1 KiB of zeros.
	tenth := make([]byte, 0, 1<<20)
	for i := uint64(0); len(tenth) < 1<<20; i++ {
		tenth = append(append(tenth, randBlob(20+i, 9<<10)...), make([]byte, 1<<10)...)
	}
	return []struct {
		name     string
		raw      []byte
		wantZstd bool
	}{
		{"saves a tenth (more than 1/16, less than 1/8)", tenth, true},
		{"random 4 MiB", randBlob(1, 4<<20), false},
		{"repetitive text 4 MiB", textBlob(1, 4<<20), true},
		{"repetitive text 1 KiB", textBlob(2, 1<<10), true},
		{"tiny text", []byte("aaaaaaaaaaaaaaaaaaaa"), false},
		{"tiny zeros", make([]byte, 10), false},
		{"empty", []byte{}, false},
		{"random small", randBlob(2, 300), false},
		{"compressible head, random rest", mixedHead, false},
		{"random head, compressible rest", mixedTail, true},
		{"Bluge-like: random first fifth, compressible rest", bluge, true},
		{"compressible quarter between the windows", middle, false},
	}
}

func TestCompressPolicy(t *testing.T) {
	c := newTestCodec(t)
	var sc Scratch
	for _, tt := range policyCases() {
		t.Run(tt.name, func(t *testing.T) {
			stored, zstd := sc.compress(c, tt.raw)
			if zstd != tt.wantZstd {
				t.Fatalf("compressed = %v, want %v (stored %d of %d bytes)", zstd, tt.wantZstd, len(stored), len(tt.raw))
			}
			if !zstd {
				if !bytes.Equal(stored, tt.raw) {
					t.Fatal("raw blob stored with different bytes")
				}
				return
			}
			if len(stored) > len(tt.raw)-len(tt.raw)/16 {
				t.Errorf("compressed to %d of %d bytes: saves less than 1/16", len(stored), len(tt.raw))
			}
			back, err := c.dec.DecodeAll(stored, make([]byte, 0, len(tt.raw)))
			if err != nil || !bytes.Equal(back, tt.raw) {
				t.Errorf("stored bytes do not decompress to the blob: %v", err)
			}
		})
	}
}

// A compressed blob's zstd frame has no checksum (its id checks it once
// decoded: the checksum would cost a hash pass for nothing); an envelope's
// payload keeps its own, having no id to be checked against.
func TestFrameChecksums(t *testing.T) {
	c := newTestCodec(t)
	// The frame header descriptor follows the 4-byte magic; bit 2 is the
	// content checksum flag (RFC 8878, 3.1.1.1.1).
	checksum := func(frame []byte) bool { return frame[4]&0x04 != 0 }
	var sc Scratch
	stored, zstd := sc.compress(c, textBlob(1, 1<<20))
	if !zstd || checksum(stored) {
		t.Errorf("a compressed blob's frame: compressed %v, checksum %v; want compressed without checksum", zstd, checksum(stored))
	}
	env, err := c.sealJSON(kindManifest, map[string]string{"a": "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !checksum(env[envelopeSize:]) {
		t.Error("an envelope's payload frame has no checksum")
	}
}

func TestPays(t *testing.T) {
	tests := []struct {
		compressed, raw int
		want            bool
	}{
		{938, 1000, true}, // 1/16 saved, rounded down
		{939, 1000, false},
		{0, 1000, true},
		{1000, 1000, false},
		{1100, 1000, false},
		{15, 16, true},
		{16, 16, false},
	}
	for _, tt := range tests {
		if got := pays(tt.compressed, tt.raw); got != tt.want {
			t.Errorf("pays(%d, %d) = %v, want %v", tt.compressed, tt.raw, got, tt.want)
		}
	}
}

// TestSaverCompressionPolicy checks the policy end to end: the index and the
// pack trailer record the choice, and the stored bytes load back.
func TestSaverCompressionPolicy(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, InitOptions{PackSize: 1 << 20, ChunkSize: 4 << 20})
	cases := policyCases()
	blobs := make([][]byte, len(cases))
	for i, tt := range cases {
		blobs[i] = tt.raw
	}
	ids, _ := saveAll(t, r, blobs...)
	r2 := reopen(t, be)
	for i, tt := range cases {
		loc, ok := r2.Index().Lookup(ids[i])
		if !ok {
			t.Fatalf("%s: not indexed", tt.name)
		}
		if loc.compressed() != tt.wantZstd {
			t.Errorf("%s: index compression %q, want zstd=%v", tt.name, loc.Compression, tt.wantZstd)
		}
		if loc.RawLength != uint32(len(tt.raw)) {
			t.Errorf("%s: raw length %d, want %d", tt.name, loc.RawLength, len(tt.raw))
		}
		if !tt.wantZstd && loc.Length != loc.RawLength {
			t.Errorf("%s: raw blob stored in %d bytes, want %d", tt.name, loc.Length, loc.RawLength)
		}
		pack, err := ParsePack(getObject(t, be, packName(loc.Pack)))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		found := false
		for _, pb := range pack {
			if pb.ID == ids[i] {
				found = true
				if pb != loc.PackedBlob {
					t.Errorf("%s: trailer %+v, index %+v", tt.name, pb, loc.PackedBlob)
				}
			}
		}
		if !found {
			t.Errorf("%s: not in its pack's trailer", tt.name)
		}
		got, err := r2.LoadBlob(t.Context(), ids[i], nil)
		if err != nil || !bytes.Equal(got, tt.raw) {
			t.Errorf("%s: LoadBlob = %d bytes, %v", tt.name, len(got), err)
		}
	}
}
