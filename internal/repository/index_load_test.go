package repository

import (
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// TestOpenReadsIndexFilesInBatches: a repository of more index files than
// are read at once is indexed whole on opening, and a blob two writers
// both stored is placed by the index file listed first, as when the files
// were read one at a time.
func TestOpenReadsIndexFilesInBatches(t *testing.T) {
	for _, tb := range backends() {
		t.Run(tb.name, func(t *testing.T) {
			be := tb.new(t)
			first := newTestRepo(t, be, smallPacks)
			second := reopen(t, be) // it will not see first's packs
			dup := randBlob(7, 8000)
			saveBackup(t, first, dup)
			saveBackup(t, second, randBlob(8, 8000), dup) // in another pack
			var all [][]byte
			for i := range 3 * indexReaders {
				b := randBlob(uint64(100+i), 8000)
				all = append(all, b)
				saveBackup(t, first, b)
			}

			var names []string
			if err := be.List(t.Context(), "index/", func(o storage.ObjectInfo) error {
				names = append(names, o.Name)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(names) <= 2*indexReaders {
				t.Fatalf("%d index files, want more than %d", len(names), 2*indexReaders)
			}
			r := reopen(t, be)
			for i, b := range all {
				if !r.Index().Has(Hash(b)) {
					t.Fatalf("blob %d is not indexed", i)
				}
			}
			// The pack that holds dup in the first index file listed that
			// names it; the other file names another pack.
			var want ID
			packs := map[ID]bool{}
			for _, name := range names {
				id, err := ParseID(strings.TrimPrefix(name, "index/"))
				if err != nil {
					t.Fatal(err)
				}
				f, err := r.readIndexFile(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range f.Packs {
					for _, b := range p.Blobs {
						if b.ID == Hash(dup) && want == (ID{}) {
							want = p.ID
						}
						if b.ID == Hash(dup) {
							packs[p.ID] = true
						}
					}
				}
			}
			if len(packs) != 2 {
				t.Fatalf("the blob stored twice is in %d packs, want 2", len(packs))
			}
			loc, ok := r.Index().Lookup(Hash(dup))
			if !ok || loc.Pack != want || want == (ID{}) {
				t.Fatalf("blob stored twice placed in pack %s (%v), want %s", loc.Pack.Short(), ok, want.Short())
			}
		})
	}
}
