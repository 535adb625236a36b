package repository

import (
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// TestPruneMaxRepack: with a bound on the bytes copied, prune repacks the
// partly used packs that free the most per byte copied, keeps the others
// whole for a later prune, and loses nothing; a prune without the bound
// repacks the rest.
func TestPruneMaxRepack(t *testing.T) {
	be := mem.New("bound")
	r := newTestRepo(t, be, InitOptions{PackSize: 1 << 20, ChunkSize: 64 << 10})
	a, b := randBlob(1, 1<<10), randBlob(2, 30<<10)  // pack 1: frees 30 KiB for 1 KiB copied
	c, d := randBlob(3, 10<<10), randBlob(4, 10<<10) // pack 2: frees 10 KiB for 10 KiB
	e, f := randBlob(5, 30<<10), randBlob(6, 1<<10)  // pack 3: frees 1 KiB for 30 KiB
	old := []ID{saveBackup(t, r, a, b), saveBackup(t, r, c, d), saveBackup(t, r, e, f)}
	kept := saveBackup(t, r, a, c, e)
	forget(t, r, old...)

	res, err := prune(t, r, PruneOptions{MaxRepack: 12 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksRepacked != 2 || res.PacksRepackLater != 1 || res.BytesRepacked > 12<<10 || res.BytesRepacked < 11<<10 {
		t.Errorf("bounded prune: %d repacked (%d bytes), %d left; want the two packs freeing most per byte, at most 12 KiB, one left",
			res.PacksRepacked, res.BytesRepacked, res.PacksRepackLater)
	}
	wantIntact(t, be, kept)

	res, err = prune(t, r, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.PacksRepacked != 1 || res.PacksRepackLater != 0 {
		t.Errorf("unbounded prune after it: %d repacked, %d left; want the last one repacked", res.PacksRepacked, res.PacksRepackLater)
	}
	wantIntact(t, be, kept)
}

// wantIntact verifies the repository, data read, and wants one backup,
// the one given, with nothing wrong.
func wantIntact(t *testing.T, be storage.Backend, id ID) {
	t.Helper()
	res, err := reopen(t, be).Verify(t.Context(), VerifyOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Problems) != 0 || res.Backups != 1 {
		t.Errorf("after prune: %d backups, problems %v; want backup %s intact", res.Backups, res.Problems, id.Short())
	}
}
