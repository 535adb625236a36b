package repository

import (
	"bytes"
	"slices"
	"testing"
)

// Two writers that each store the same blobs (two cluster agents
// uploading the two replicas of a part at once: neither sees the other's
// packs until its next start) leave every blob stored twice. A prune of
// duplicates deletes the second copies without reading a tree, keeps a
// blob that no backup uses (it judges copies, not use), leaves packs in
// no index alone, and every backup still reads its data.
func TestPruneDuplicates(t *testing.T) {
	for _, tb := range backends() {
		t.Run(tb.name, func(t *testing.T) {
			be := tb.new(t)
			first := newTestRepo(t, be, smallPacks)
			second := reopen(t, be) // its index is read now: it will not see first's packs
			var shared [][]byte
			for i := range 20 {
				shared = append(shared, randBlob(uint64(100+i), 8000))
			}
			a := saveBackup(t, first, append(shared, randBlob(1, 8000))...)
			// In another order, as another node's files would come: other packs.
			reversed := slices.Clone(shared)
			slices.Reverse(reversed)
			b := saveBackup(t, second, append([][]byte{randBlob(2, 8000)}, reversed...)...)
			unused := randBlob(3, 8000) // stored, in no backup
			s := first.NewSaver(t.Context())
			var sc Scratch
			if _, err := s.Save(t.Context(), DataBlob, Hash(unused), unused, &sc); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			stray := randBlob(4, 5000)
			putObject(t, be, packName(Hash(stray)), stray) // in no index

			// Pruned through the first writer's handle, whose index in memory
			// lacks the second's packs, as a coordinator's does after the
			// agents' uploads: the prune must read the index files anew.
			r := first
			before := objects(t, be, "data/")
			res, err := prune(t, r, PruneOptions{Scope: PruneDuplicates})
			if err != nil {
				t.Fatal(err)
			}
			if res.Backups != 0 || res.PacksDeleted == 0 || res.PacksUnindexed != 0 || res.BytesFreed < 20*8000 {
				t.Errorf("prune of duplicates: %+v; want second copies deleted (at least %d bytes), no backup read, the stray pack kept", *res, 20*8000)
			}
			after := objects(t, be, "data/")
			if _, ok := after[packName(Hash(stray))]; !ok {
				t.Error("the pack in no index was deleted")
			}
			if len(after) >= len(before) {
				t.Errorf("%d packs before, %d after", len(before), len(after))
			}
			r = reopen(t, be)
			for _, blob := range append(shared, randBlob(1, 8000), randBlob(2, 8000), unused) {
				got, err := r.LoadBlob(t.Context(), Hash(blob), nil)
				if err != nil || !bytes.Equal(got, blob) {
					t.Fatalf("blob %s after the prune: %v", Hash(blob).Short(), err)
				}
			}
			for _, id := range []ID{a, b} {
				if _, err := r.LoadManifest(t.Context(), id); err != nil {
					t.Errorf("backup %s: %v", id.Short(), err)
				}
			}
			vr, err := r.Verify(t.Context(), VerifyOptions{ReadData: true})
			if err != nil || len(vr.Problems) != 0 {
				t.Errorf("verify after the prune: %v %+v", err, vr)
			}
		})
	}
}
