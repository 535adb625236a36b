package repository

import (
	"bytes"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// TestSaverConcurrent saves overlapping sets of blobs from 8 goroutines and
// checks that every blob is stored and indexed exactly once.
func TestSaverConcurrent(t *testing.T) {
	for _, bk := range backends() {
		t.Run(bk.name, func(t *testing.T) {
			ctx := t.Context()
			be := bk.new(t)
			r := newTestRepo(t, be, smallPacks)
			const total, preexisting = 240, 40
			blobs := make([][]byte, total)
			for i := range blobs {
				switch {
				case i%3 == 0:
					blobs[i] = textBlob(i, 100+i*60) // compressible
				case i%7 == 0:
					blobs[i] = randBlob(uint64(i), i%60+1) // tiny
				default:
					blobs[i] = randBlob(uint64(i), 1+(i*997)%(16<<10))
				}
			}
			saveAll(t, r, blobs[:preexisting]...)
			before := objects(t, be, "")

			s := r.NewSaver(ctx)
			added := make([]atomic.Int32, total)
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := range 8 {
				wg.Go(func() {
					var sc Scratch
					for k := range 60 { // ranges overlap: every blob is offered 2 times
						i := (g*30 + k) % total
						ok, err := s.Save(ctx, DataBlob, Hash(blobs[i]), blobs[i], &sc)
						if err != nil {
							errs <- err
							return
						}
						if ok {
							added[i].Add(1)
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("Save: %v", err)
			}
			st, err := s.Flush(ctx)
			if err != nil {
				t.Fatalf("Flush: %v", err)
			}

			var rawNew int64
			for i := range blobs {
				want := int32(1)
				if i < preexisting {
					want = 0
				} else {
					rawNew += int64(len(blobs[i]))
				}
				if got := added[i].Load(); got != want {
					t.Errorf("blob %d reported added %d times, want %d", i, got, want)
				}
				if !s.Has(Hash(blobs[i])) {
					t.Errorf("blob %d: Saver.Has = false after Flush", i)
				}
			}
			if st.BlobsAdded != total-preexisting || st.RawAdded != rawNew {
				t.Errorf("stats %+v, want %d blobs and %d raw bytes added", st, total-preexisting, rawNew)
			}
			var newBytes, newPacks int64
			for name, size := range objects(t, be, "") {
				if _, ok := before[name]; !ok {
					newBytes += size
					if strings.HasPrefix(name, "data/") {
						newPacks++
					}
				}
			}
			if st.BytesAdded != newBytes || st.PacksAdded != newPacks {
				t.Errorf("stats %+v; the backend gained %d bytes in %d packs", st, newBytes, newPacks)
			}
			if newPacks < 10 {
				t.Errorf("only %d packs for %d blobs with 64 KiB packs", newPacks, total)
			}

			r2 := reopen(t, be)
			if r2.Index().Len() != total {
				t.Errorf("reopened index has %d blobs, want %d", r2.Index().Len(), total)
			}
			// Exactly once: across all index files and across all packs.
			inIndex := map[ID]int{}
			for _, f := range readIndexFiles(t, r2) {
				for _, p := range f.Packs {
					for _, b := range p.Blobs {
						inIndex[b.ID]++
					}
				}
			}
			inPacks := map[ID]int{}
			for name := range objects(t, be, "data/") {
				pbs, err := ParsePack(getObject(t, be, name))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for _, b := range pbs {
					inPacks[b.ID]++
				}
			}
			for i, b := range blobs {
				id := Hash(b)
				if inIndex[id] != 1 || inPacks[id] != 1 {
					t.Errorf("blob %d is in %d index entries and %d packs, want 1 and 1", i, inIndex[id], inPacks[id])
				}
				got, err := r2.LoadBlob(ctx, id, nil)
				if err != nil || !bytes.Equal(got, b) {
					t.Errorf("blob %d: LoadBlob = %d bytes, %v", i, len(got), err)
				}
			}
			if len(inIndex) != total || len(inPacks) != total {
				t.Errorf("%d blobs in index files, %d in packs, want %d", len(inIndex), len(inPacks), total)
			}
		})
	}
}

func TestSaverAlreadyStored(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	old := randBlob(1, 1000)
	saveAll(t, r, old)

	s := reopen(t, be).NewSaver(ctx)
	var sc Scratch
	if added, err := s.Save(ctx, DataBlob, Hash(old), old, &sc); err != nil || added {
		t.Errorf("Save of an indexed blob = %v, %v; want false", added, err)
	}
	fresh := randBlob(2, 1000)
	if s.Has(Hash(fresh)) {
		t.Error("Has before Save = true")
	}
	if added, err := s.Save(ctx, DataBlob, Hash(fresh), fresh, &sc); err != nil || !added {
		t.Errorf("first Save of a new blob = %v, %v; want true", added, err)
	}
	if !s.Has(Hash(fresh)) || !s.Has(Hash(old)) {
		t.Error("Has after Save = false")
	}
	if added, err := s.Save(ctx, DataBlob, Hash(fresh), fresh, &sc); err != nil || added {
		t.Errorf("second Save of a queued blob = %v, %v; want false", added, err)
	}
	st, err := s.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.BlobsAdded != 1 || st.PacksAdded != 1 {
		t.Errorf("stats %+v, want 1 blob in 1 pack", st)
	}
}

// TestSaverIndexEvery16Packs stores 35 packs and expects index files of 16,
// 16 and 3 packs, each naming only packs that are stored.
func TestSaverIndexEvery16Packs(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	// 16 KiB random blobs: the pack reaches 64 KiB with its 4th blob.
	blobs := make([][]byte, 35*4)
	for i := range blobs {
		blobs[i] = randBlob(uint64(i), 16<<10)
	}
	_, st := saveAll(t, r, blobs...)
	packs := objects(t, be, "data/")
	if len(packs) != 35 || st.PacksAdded != 35 {
		t.Fatalf("%d packs stored, stats say %d; want 35", len(packs), st.PacksAdded)
	}
	files := readIndexFiles(t, r)
	var sizes []int
	for _, f := range files {
		sizes = append(sizes, len(f.Packs))
		for _, p := range f.Packs {
			if size, ok := packs[packName(p.ID)]; !ok || size != p.Size {
				t.Errorf("index names pack %s of %d bytes; stored: %v, %d bytes", p.ID.Short(), p.Size, ok, size)
			}
			if len(p.Blobs) != 4 {
				t.Errorf("pack %s has %d blobs, want 4", p.ID.Short(), len(p.Blobs))
			}
		}
	}
	counts := map[int]int{}
	for _, n := range sizes {
		counts[n]++
	}
	if len(files) != 3 || counts[16] != 2 || counts[3] != 1 {
		t.Errorf("index files name %v packs, want 16, 16 and 3", sizes)
	}
}

// TestObjectsNamedByHash checks that packs, index files and manifests are
// named by the BLAKE3 of their bytes, and packs hold one blob type.
func TestObjectsNamedByHash(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	s := r.NewSaver(ctx)
	var sc Scratch
	data := randBlob(1, 5000)
	if _, err := s.Save(ctx, DataBlob, Hash(data), data, &sc); err != nil {
		t.Fatal(err)
	}
	tree, _, err := s.SaveTree(ctx, &Tree{Entries: []Node{{Name: "f", Type: NodeFile, Blobs: []ID{Hash(data)}}}}, &sc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.SaveManifest(ctx, &Manifest{Format: 1, Tree: tree}); err != nil {
		t.Fatal(err)
	}
	types := map[BlobType]int{}
	for name := range objects(t, be, "") {
		if name == "config" {
			continue
		}
		obj := getObject(t, be, name)
		id := Hash(obj).String()
		want := name[:strings.LastIndexByte(name, '/')+1] + id
		if strings.HasPrefix(name, "data/") {
			want = "data/" + id[:2] + "/" + id
			pbs, err := ParsePack(obj)
			if err != nil || len(pbs) != 1 {
				t.Fatalf("%s: %v, %v", name, pbs, err)
			}
			types[pbs[0].Type]++
		}
		if name != want {
			t.Errorf("object %s, want name %s", name, want)
		}
	}
	if types[DataBlob] != 1 || types[TreeBlob] != 1 {
		t.Errorf("pack types %v, want one data and one tree pack", types)
	}
}

func TestSaverFlushNothing(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	st, err := r.NewSaver(t.Context()).Flush(t.Context())
	if err != nil || st != (SaveStats{}) {
		t.Errorf("Flush = %+v, %v", st, err)
	}
	if got := objects(t, be, ""); len(got) != 1 {
		t.Errorf("an empty saver wrote %v", got)
	}
}

// TestSaverAbort checks that packs stored before Abort are indexed, so a
// later backup in a reopened repository reuses them.
func TestSaverAbort(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	s := r.NewSaver(ctx)
	var sc Scratch
	blobs := make([][]byte, 22) // 5 full packs of 4 blobs, 2 blobs in the open pack
	for i := range blobs {
		blobs[i] = randBlob(uint64(i), 16<<10)
		if _, err := s.Save(ctx, DataBlob, Hash(blobs[i]), blobs[i], &sc); err != nil {
			t.Fatal(err)
		}
	}
	s.Abort(ctx)
	if n := len(objects(t, be, "data/")); n != 5 {
		t.Errorf("%d packs stored, want 5", n)
	}
	if n := len(objects(t, be, "index/")); n != 1 {
		t.Errorf("%d index files, want 1", n)
	}
	r2 := reopen(t, be)
	s2 := r2.NewSaver(ctx)
	for i, b := range blobs {
		if want := i < 20; s2.Has(Hash(b)) != want {
			t.Errorf("blob %d: Has = %v, want %v", i, !want, want)
		}
	}
	added, err := s2.Save(ctx, DataBlob, Hash(blobs[0]), blobs[0], &sc)
	if err != nil || added {
		t.Errorf("Save of a blob stored before Abort = %v, %v", added, err)
	}
	if got, err := r2.LoadBlob(ctx, Hash(blobs[19]), nil); err != nil || !bytes.Equal(got, blobs[19]) {
		t.Errorf("LoadBlob after Abort: %v", err)
	}
	if _, err := s2.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

var errInjected = errors.New("injected write failure")

func TestSaverStoreError(t *testing.T) {
	ctx := t.Context()
	be := faults.New(mem.New("t"), faults.Rule{Op: faults.OpWrite, Prefix: "data/", Err: errInjected})
	r := newTestRepo(t, be, smallPacks)
	s := r.NewSaver(ctx)
	var sc Scratch
	var saveErr error
	for i := range 40 {
		b := randBlob(uint64(i), 16<<10)
		if _, err := s.Save(ctx, DataBlob, Hash(b), b, &sc); err != nil {
			saveErr = err
			break
		}
	}
	_, err := s.Flush(ctx)
	if !errors.Is(err, errInjected) {
		t.Errorf("Flush = %v, want the storage error", err)
	}
	if saveErr != nil && !errors.Is(saveErr, errInjected) {
		t.Errorf("Save = %v, want the storage error", saveErr)
	}
	if n := len(objects(t, be, "index/")); n != 0 {
		t.Errorf("%d index files written for packs that were not stored", n)
	}
	if be.Calls(faults.OpWrite, "data/") == 0 {
		t.Error("no pack was written")
	}
}
