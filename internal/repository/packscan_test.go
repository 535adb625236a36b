package repository

import (
	"bytes"
	"errors"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/osfile"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// locations returns the index entries of ids, in pack offset order.
func locations(t *testing.T, r *Repository, ids []ID) []Location {
	t.Helper()
	var out []Location
	for _, id := range ids {
		loc, ok := r.Index().Lookup(id)
		if !ok {
			t.Fatalf("blob %s not indexed", id.Short())
		}
		out = append(out, loc)
	}
	return out
}

func TestPackScannerReturnsWantedBlobs(t *testing.T) {
	for _, bk := range backends() {
		for _, m := range scanModes {
			t.Run(bk.name+"/"+m.name, func(t *testing.T) { testPackScannerReturnsWantedBlobs(t, bk.new(t), m.reads) })
		}
	}
}

func testPackScannerReturnsWantedBlobs(t *testing.T, be storage.Backend, reads PackReads) {
	ctx := t.Context()
	r := newTestRepo(t, be, InitOptions{PackSize: 1 << 20, ChunkSize: 64 << 10})
	blobs := [][]byte{randBlob(1, 3000), textBlob(1, 9000), []byte("tiny"), randBlob(2, 40000)}
	ids, _ := saveAll(t, r, blobs...)
	r = withReads(t, be, reads)
	locs := locations(t, r, ids)
	s := r.NewPackScanner()
	for _, pick := range [][]int{{0, 1, 2, 3}, {1, 3}, {}} {
		var wanted []Location
		for _, i := range pick {
			wanted = append(wanted, locs[i])
		}
		var got [][]byte
		err := s.Scan(ctx, locs[0].Pack, wanted, func(_ Location, raw []byte) error {
			got = append(got, bytes.Clone(raw))
			return nil
		})
		if err != nil {
			t.Fatalf("Scan %v: %v", pick, err)
		}
		for k, i := range pick {
			if !bytes.Equal(got[k], blobs[i]) {
				t.Errorf("Scan %v: blob %d differs", pick, i)
			}
		}
	}
}

// scanModes are the two ways a scanner reads packs: one Get each, and
// ranged Gets read ahead (as from an object store).
var scanModes = []struct {
	name  string
	reads PackReads
}{{"one Get", PackReads{}}, {"ranged", PackReads{Chunk: 1000, Parallel: 3}}}

// withReads is r opened again on be with the pack reads of mode.
func withReads(t *testing.T, be storage.Backend, reads PackReads) *Repository {
	t.Helper()
	r, err := Open(t.Context(), be, Options{PackReads: reads})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

func TestPackScannerRefusesDamage(t *testing.T) {
	for _, m := range scanModes {
		t.Run(m.name, func(t *testing.T) { testPackScannerRefusesDamage(t, m.reads) })
	}
}

// ScanBlobs checks only the blobs asked for: damage in one of them fails
// with ErrIntegrity, damage elsewhere in the pack (another blob, the
// header, the trailer, a missing end) does not, and the blob asked for
// still comes out whole and verified.
func TestPackScannerScanBlobsChecksOnlyTheBlobs(t *testing.T) {
	for _, m := range scanModes {
		t.Run(m.name, func(t *testing.T) {
			ctx := t.Context()
			tests := []struct {
				name    string
				damage  func(data []byte) []byte
				refused bool
			}{
				{"flipped blob byte", func(d []byte) []byte { d[100] ^= 1; return d }, true},
				{"empty", func(d []byte) []byte { return d[:0] }, true},
				{"flipped byte of a blob not asked for", func(d []byte) []byte { d[len(d)-200] ^= 1; return d }, false},
				{"flipped trailer byte", func(d []byte) []byte { d[len(d)-10] ^= 1; return d }, false},
				{"cut after the blob asked for", func(d []byte) []byte { return d[:len(d)-1000] }, false},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					be := mem.New("t")
					r := newTestRepo(t, be, InitOptions{PackSize: 1 << 20, ChunkSize: 64 << 10})
					blob := randBlob(1, 3000)
					ids, _ := saveAll(t, r, blob, randBlob(2, 3000))
					locs := locations(t, r, ids)
					name := packName(locs[0].Pack)
					putObject(t, be, name, tt.damage(bytes.Clone(getObject(t, be, name))))
					var got []byte
					err := withReads(t, be, m.reads).NewPackScanner().ScanBlobs(ctx, locs[0].Pack, locs[:1], func(_ Location, data []byte) error {
						got = bytes.Clone(data)
						return nil
					})
					switch {
					case tt.refused && !errors.Is(err, ErrIntegrity):
						t.Errorf("ScanBlobs = %v, want ErrIntegrity", err)
					case !tt.refused && (err != nil || !bytes.Equal(got, blob)):
						t.Errorf("ScanBlobs = %v with %d bytes, want the %d bytes of the intact blob", err, len(got), len(blob))
					}
				})
			}
		})
	}
}

func testPackScannerRefusesDamage(t *testing.T, reads PackReads) {
	ctx := t.Context()
	tests := []struct {
		name   string
		damage func(data []byte) []byte
	}{
		{"flipped header byte", func(d []byte) []byte { d[6] ^= 1; return d }},
		{"flipped blob byte", func(d []byte) []byte { d[100] ^= 1; return d }},
		{"flipped byte of a blob not asked for", func(d []byte) []byte { d[len(d)-200] ^= 1; return d }},
		{"flipped trailer byte", func(d []byte) []byte { d[len(d)-10] ^= 1; return d }},
		{"one byte short", func(d []byte) []byte { return d[:len(d)-1] }},
		{"one byte long", func(d []byte) []byte { return append(d, 0) }},
		{"empty", func(d []byte) []byte { return d[:0] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := mem.New("t")
			r := newTestRepo(t, be, InitOptions{PackSize: 1 << 20, ChunkSize: 64 << 10})
			ids, _ := saveAll(t, r, randBlob(1, 3000), randBlob(2, 3000))
			locs := locations(t, r, ids)
			name := packName(locs[0].Pack)
			putObject(t, be, name, tt.damage(bytes.Clone(getObject(t, be, name))))
			err := withReads(t, be, reads).NewPackScanner().Scan(ctx, locs[0].Pack, locs[:1], func(Location, []byte) error { return nil })
			if !errors.Is(err, ErrIntegrity) {
				t.Errorf("Scan = %v, want ErrIntegrity", err)
			}
		})
	}
	t.Run("missing or unindexed", func(t *testing.T) {
		be := mem.New("t")
		r := newTestRepo(t, be, InitOptions{PackSize: 1 << 20, ChunkSize: 64 << 10})
		ids, _ := saveAll(t, r, randBlob(1, 3000))
		locs := locations(t, r, ids)
		if err := be.Delete(ctx, packName(locs[0].Pack)); err != nil {
			t.Fatal(err)
		}
		nop := func(Location, []byte) error { return nil }
		r = withReads(t, be, reads)
		if err := r.NewPackScanner().Scan(ctx, locs[0].Pack, locs, nop); !errors.Is(err, ErrIntegrity) {
			t.Errorf("Scan of a deleted pack = %v, want ErrIntegrity", err)
		}
		if err := r.NewPackScanner().Scan(ctx, Hash([]byte("x")), nil, nop); !errors.Is(err, ErrIntegrity) {
			t.Errorf("Scan of an unindexed pack = %v, want ErrIntegrity", err)
		}
	})
}

// The plaintext a scan hands out starts on a page boundary, encrypted
// repository or not, so that a restore can write it to the disk directly.
func TestPackScannerHandsOutAlignedPlaintext(t *testing.T) {
	if osfile.Direct == 0 {
		t.Skip("no direct writes on this system, so nothing is aligned for them")
	}
	for _, enc := range []bool{false, true} {
		be := mem.New("aligned")
		var r *Repository
		if enc {
			r = newEncryptedRepo(t, be, "pw")
		} else {
			r = newTestRepo(t, be, InitOptions{PackSize: 1 << 20, ChunkSize: 512 << 10})
		}
		blobs := [][]byte{randBlob(1, 3000), randBlob(2, 300<<10), randBlob(3, 5)}
		ids, _ := saveAll(t, r, blobs...)
		locs := locations(t, r, ids)
		n := 0
		err := r.NewPackScanner().ScanBlobs(t.Context(), locs[0].Pack, locs, func(loc Location, data []byte) error {
			if loc.compressed() {
				t.Fatalf("encrypted %v: random blob %d is stored compressed", enc, n)
			}
			if !bytes.Equal(data, blobs[n]) {
				t.Errorf("encrypted %v: blob %d differs", enc, n)
			}
			if !osfile.Aligned(data) {
				t.Errorf("encrypted %v: blob %d (%d bytes) does not start on a page boundary", enc, n, len(data))
			}
			n++
			return nil
		})
		if err != nil || n != len(blobs) {
			t.Fatalf("encrypted %v: %d blobs, %v", enc, n, err)
		}
	}
}
