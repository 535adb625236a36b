package repository

import (
	"slices"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// storeUnindexed saves random blobs under l until at least n packs are
// stored, and flushes nothing: what a backup killed midway leaves. It
// returns the packs the lock records once every one of them is stored.
func storeUnindexed(t *testing.T, r *Repository, l *Lock, n int, seed uint64) []ID {
	t.Helper()
	s := l.NewSaver(t.Context())
	scratch := &Scratch{}
	for i := uint64(0); len(objects(t, r.Backend(), "data/")) < n; i++ {
		if i > 1000 {
			t.Fatal("no packs stored after 1000 blobs")
		}
		raw := randBlob(seed<<32+i, 48<<10)
		if _, err := s.Save(t.Context(), DataBlob, Hash(raw), raw, scratch); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var info LockInfo
		if err := r.codec.openJSON(kindLock, getObject(t, r.Backend(), l.name), &info); err != nil {
			t.Fatal(err)
		}
		stored := objects(t, r.Backend(), "data/")
		all := len(info.Packs) > 0
		for _, id := range info.Packs {
			_, ok := stored[packName(id)]
			all = all && ok
		}
		if all {
			return info.Packs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock records packs %v, not all stored", info.Packs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestAdoptPacksOfKilledWritersOnly: a backup adopts the unindexed packs
// of a writer whose lock is stale, exactly those, and never the packs of
// a writer whose lock is alive.
func TestAdoptPacksOfKilledWritersOnly(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	newTestRepo(t, be, smallPacks)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

	killed := openAt(t, be, t0)
	dead := storeUnindexed(t, killed, mustLock(t, killed, "backup", false), 3, 1)
	alive := openAt(t, be, t0.Add(time.Hour))
	live := storeUnindexed(t, alive, mustLock(t, alive, "backup", false), 5, 2)
	indexFiles := len(objects(t, be, "index/"))

	// While both writers' locks are fresh, nothing is adopted or read.
	early := openAt(t, be, t0)
	rec, err := early.AdoptPacks(ctx, mustLock(t, early, "backup", false))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Packs != 0 || len(objects(t, be, "index/")) != indexFiles {
		t.Fatalf("with every writer alive, adopted %+v", rec)
	}

	// An hour later the first writer's lock is stale: its packs, and only
	// those, are adopted and indexed.
	later := openAt(t, be, t0.Add(time.Hour))
	rec, err = later.AdoptPacks(ctx, mustLock(t, later, "backup", false))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Packs != len(dead) {
		t.Errorf("adopted %d packs, want the killed writer's %d", rec.Packs, len(dead))
	}
	fresh := reopen(t, be)
	for _, id := range dead {
		if _, ok := fresh.Index().PackSize(id); !ok {
			t.Errorf("the killed writer's pack %s is not indexed", id.Short())
		}
	}
	for _, id := range live {
		if _, ok := fresh.Index().PackSize(id); ok && !slices.Contains(dead, id) {
			t.Errorf("the live writer's pack %s was adopted", id.Short())
		}
	}

	// Adopting again finds them indexed: nothing more is written.
	indexFiles = len(objects(t, be, "index/"))
	again := openAt(t, be, t0.Add(time.Hour))
	if rec, err := again.AdoptPacks(ctx, mustLock(t, again, "backup", false)); err != nil || rec.Packs != 0 {
		t.Errorf("second adoption: %+v, %v", rec, err)
	}
	if n := len(objects(t, be, "index/")); n != indexFiles {
		t.Errorf("second adoption wrote %d index files", n-indexFiles)
	}
}

// TestAdoptSkipsPacksNeverStored: a pack the lock records whose upload
// never finished is skipped, not an error.
func TestAdoptSkipsPacksNeverStored(t *testing.T) {
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	putLock(t, r, "killed", LockInfo{Hostname: "elsewhere", PID: 1, Time: t0, Operation: "backup", Packs: []ID{Hash([]byte("never stored"))}})
	later := openAt(t, be, t0.Add(time.Hour))
	rec, err := later.AdoptPacks(t.Context(), mustLock(t, later, "backup", false))
	if err != nil || rec.Packs != 0 {
		t.Errorf("adopted %+v, %v; want nothing, no error", rec, err)
	}
}
