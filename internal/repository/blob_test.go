package repository

import (
	"bytes"
	"errors"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

func TestLoadBlobBufferReuse(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	rawBlob, textB := randBlob(1, 5000), textBlob(1, 5000)
	ids, _ := saveAll(t, r, rawBlob, textB)
	r = reopen(t, be)
	for _, bufSize := range []int{0, 10, 5000, 20000} {
		for i, want := range [][]byte{rawBlob, textB} {
			buf := make([]byte, bufSize)
			got, err := r.LoadBlob(t.Context(), ids[i], buf)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("buf %d, blob %d: LoadBlob = %d bytes, %v", bufSize, i, len(got), err)
			}
		}
	}
}

// TestLoadBlobDamaged flips one byte of a stored blob and expects a
// *BlobError that wraps ErrIntegrity and names the blob and its pack.
func TestLoadBlobDamaged(t *testing.T) {
	for _, bk := range backends() {
		t.Run(bk.name, func(t *testing.T) {
			be := bk.new(t)
			r := newTestRepo(t, be, smallPacks)
			blobs := [][]byte{randBlob(1, 3000), randBlob(2, 4000), randBlob(3, 100)}
			ids, _ := saveAll(t, r, blobs...)
			loc, ok := r.Index().Lookup(ids[1])
			if !ok || loc.compressed() {
				t.Fatalf("blob 1: %+v, %v; want a raw indexed blob", loc, ok)
			}
			flipByte(t, be, packName(loc.Pack), int(loc.Offset)+1234)

			r2 := reopen(t, be)
			_, err := r2.LoadBlob(t.Context(), ids[1], nil)
			if !errors.Is(err, ErrIntegrity) {
				t.Fatalf("LoadBlob of a damaged blob = %v, want ErrIntegrity", err)
			}
			var be2 *BlobError
			if !errors.As(err, &be2) {
				t.Fatalf("error %v is not a *BlobError", err)
			}
			if be2.Blob != ids[1] || be2.Pack != loc.Pack {
				t.Errorf("BlobError names blob %s pack %s, want %s in %s", be2.Blob.Short(), be2.Pack.Short(), ids[1].Short(), loc.Pack.Short())
			}
			// The neighbours in the same pack are intact.
			for _, i := range []int{0, 2} {
				if got, err := r2.LoadBlob(t.Context(), ids[i], nil); err != nil || !bytes.Equal(got, blobs[i]) {
					t.Errorf("undamaged blob %d: %v", i, err)
				}
			}
		})
	}
}

func TestLoadBlobDamagedCompressed(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	text := textBlob(1, smallPacks.ChunkSize) // a blob is at most a chunk
	ids, _ := saveAll(t, r, text)
	loc, _ := r.Index().Lookup(ids[0])
	if !loc.compressed() {
		t.Fatal("text blob not compressed")
	}
	for _, off := range []int{0, int(loc.Length) / 2, int(loc.Length) - 1} {
		flipByte(t, be, packName(loc.Pack), int(loc.Offset)+off)
		if _, err := reopen(t, be).LoadBlob(t.Context(), ids[0], nil); !errors.Is(err, ErrIntegrity) {
			t.Errorf("flip at %d: LoadBlob = %v, want ErrIntegrity", off, err)
		}
		flipByte(t, be, packName(loc.Pack), int(loc.Offset)+off) // undo
	}
	if got, err := reopen(t, be).LoadBlob(t.Context(), ids[0], nil); err != nil || !bytes.Equal(got, text) {
		t.Errorf("after undoing the damage: %v", err)
	}
}

func TestLoadBlobMissing(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	ids, _ := saveAll(t, r, randBlob(1, 3000))
	if _, err := r.LoadBlob(t.Context(), Hash([]byte("never stored")), nil); !errors.Is(err, ErrIntegrity) {
		t.Errorf("LoadBlob of an unindexed blob = %v, want ErrIntegrity", err)
	}
	loc, _ := r.Index().Lookup(ids[0])
	// A pack cut short.
	putObject(t, be, packName(loc.Pack), getObject(t, be, packName(loc.Pack))[:100])
	if _, err := r.LoadBlob(t.Context(), ids[0], nil); !errors.Is(err, ErrIntegrity) {
		t.Errorf("LoadBlob from a truncated pack = %v, want ErrIntegrity", err)
	}
	// A pack gone.
	if err := be.Delete(t.Context(), packName(loc.Pack)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadBlob(t.Context(), ids[0], nil); !errors.Is(err, ErrIntegrity) {
		t.Errorf("LoadBlob from a deleted pack = %v, want ErrIntegrity", err)
	}
}

// TestLoadBlobDoesNotAliasTreeCache loads a raw tree blob and passes the
// result back as the buffer for the next LoadBlob, as "buf is reused when
// large enough" invites. The tree must still load afterwards.
func TestLoadBlobDoesNotAliasTreeCache(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	s := r.NewSaver(ctx)
	var sc Scratch
	tree := &Tree{Entries: []Node{}}
	treeID, _, err := s.SaveTree(ctx, tree, &sc)
	if err != nil {
		t.Fatal(err)
	}
	data := randBlob(1, 20) // raw, shorter than the rest of the tree pack
	if _, err := s.Save(ctx, DataBlob, Hash(data), data, &sc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r = reopen(t, be)
	buf, err := r.LoadBlob(ctx, treeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadBlob(ctx, Hash(data), buf); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadTree(ctx, treeID); err != nil {
		t.Errorf("LoadTree after reusing a tree blob's bytes as buffer: %v", err)
	}
}
