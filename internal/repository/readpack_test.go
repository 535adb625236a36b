package repository

import (
	"bytes"
	"errors"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

func TestReadPackAndBlobFromPack(t *testing.T) {
	for _, bk := range backends() {
		t.Run(bk.name, func(t *testing.T) {
			ctx := t.Context()
			be := bk.new(t)
			r := newTestRepo(t, be, InitOptions{PackSize: 1 << 20, ChunkSize: 64 << 10})
			blobs := [][]byte{randBlob(1, 3000), textBlob(1, 9000), []byte("tiny")}
			ids, _ := saveAll(t, r, blobs...)
			r = reopen(t, be)
			loc0, _ := r.Index().Lookup(ids[0])
			for _, bufCap := range []int{0, 10, 1 << 20} {
				pack, err := r.ReadPack(ctx, loc0.Pack, make([]byte, 0, bufCap))
				if err != nil {
					t.Fatalf("ReadPack(buf cap %d): %v", bufCap, err)
				}
				if !bytes.Equal(pack, getObject(t, be, packName(loc0.Pack))) {
					t.Fatalf("ReadPack(buf cap %d) returned other bytes than the pack", bufCap)
				}
				for i, id := range ids {
					loc, _ := r.Index().Lookup(id)
					got, err := r.BlobFromPack(loc, pack, nil)
					if err != nil || !bytes.Equal(got, blobs[i]) {
						t.Errorf("BlobFromPack(blob %d) = %d bytes, %v", i, len(got), err)
					}
				}
			}
		})
	}
}

func TestReadPackDamaged(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name   string
		damage func(data []byte) []byte
	}{
		{"flipped header byte", func(d []byte) []byte { d[6] ^= 1; return d }},
		{"flipped blob byte", func(d []byte) []byte { d[100] ^= 1; return d }},
		{"flipped trailer byte", func(d []byte) []byte { d[len(d)-10] ^= 1; return d }},
		{"one byte short", func(d []byte) []byte { return d[:len(d)-1] }},
		{"one byte long", func(d []byte) []byte { return append(d, 0) }},
		{"empty", func(d []byte) []byte { return d[:0] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			be := mem.New("t")
			r := newTestRepo(t, be, smallPacks)
			ids, _ := saveAll(t, r, randBlob(1, 3000))
			loc, _ := r.Index().Lookup(ids[0])
			name := packName(loc.Pack)
			putObject(t, be, name, tt.damage(bytes.Clone(getObject(t, be, name))))
			if _, err := r.ReadPack(ctx, loc.Pack, nil); !errors.Is(err, ErrIntegrity) {
				t.Errorf("ReadPack = %v, want ErrIntegrity", err)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		be := mem.New("t")
		r := newTestRepo(t, be, smallPacks)
		ids, _ := saveAll(t, r, randBlob(1, 3000))
		loc, _ := r.Index().Lookup(ids[0])
		if err := be.Delete(ctx, packName(loc.Pack)); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadPack(ctx, loc.Pack, nil); !errors.Is(err, ErrIntegrity) {
			t.Errorf("ReadPack of a deleted pack = %v, want ErrIntegrity", err)
		}
		if _, err := r.ReadPack(ctx, Hash([]byte("unknown")), nil); !errors.Is(err, ErrIntegrity) {
			t.Errorf("ReadPack of an unindexed pack = %v, want ErrIntegrity", err)
		}
	})
}

func TestBlobFromPackDamaged(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	ids, _ := saveAll(t, r, randBlob(1, 3000))
	loc, _ := r.Index().Lookup(ids[0])
	pack := bytes.Clone(getObject(t, be, packName(loc.Pack)))
	pack[loc.Offset+7] ^= 1
	_, err := r.BlobFromPack(loc, pack, nil)
	var blobErr *BlobError
	if !errors.Is(err, ErrIntegrity) || !errors.As(err, &blobErr) || blobErr.Blob != ids[0] {
		t.Errorf("BlobFromPack of a damaged blob = %v, want a *BlobError for %s", err, ids[0].Short())
	}
	if _, err := r.BlobFromPack(loc, pack[:loc.Offset+10], nil); !errors.Is(err, ErrIntegrity) {
		t.Errorf("BlobFromPack past the end = %v, want ErrIntegrity", err)
	}
}
