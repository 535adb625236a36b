package repository

import (
	"slices"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// storeUnindexed stores n packs of one random blob each under l, as a
// saver does (each recorded in the lock before it is stored), and indexes
// none: what a backup killed midway leaves. It returns their ids.
func storeUnindexed(t *testing.T, r *Repository, l *Lock, n int, seed uint64) []ID {
	t.Helper()
	ctx := t.Context()
	var ids []ID
	for i := range uint64(n) {
		f, err := r.Backend().StageFile()
		if err != nil {
			t.Fatal(err)
		}
		p, err := newPackFile(DataBlob, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		for j := range uint64(3) { // three chunks
			raw := randBlob(seed<<32+i<<8+j, smallPacks.ChunkSize)
			if err := p.add(Hash(raw), raw, len(raw), false); err != nil {
				t.Fatal(err)
			}
		}
		id, _, _, err := p.finish()
		if err != nil {
			t.Fatal(err)
		}
		if err := l.recordPack(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := r.Backend().PutStaged(ctx, packName(id), f); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
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

// TestSaverRecordsPackBeforeStoringIt: a saver under a lock names each
// pack in the lock before the pack is stored, so that a writer killed at
// any point leaves no stored pack its lock does not name.
func TestSaverRecordsPackBeforeStoringIt(t *testing.T) {
	ctx := t.Context()
	fb := faults.New(mem.New("t"))
	r := newTestRepo(t, fb, smallPacks)
	l := mustLock(t, r, "backup", false)
	pause := fb.PauseBefore(faults.OpPutStaged, "data/")
	s := l.NewSaver(ctx)
	saved := make(chan error, 1)
	go func() {
		scratch := &Scratch{}
		for i := range uint64(2) { // the second blob fills the first pack
			raw := randBlob(7<<32+i, 48<<10)
			if _, err := s.Save(ctx, DataBlob, Hash(raw), raw, scratch); err != nil {
				saved <- err
				return
			}
		}
		saved <- nil
	}()
	<-pause.Reached()
	var info LockInfo
	if err := r.codec.openJSON(kindLock, getObject(t, fb, l.name), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Packs) != 1 || len(objects(t, fb, "data/")) != 0 {
		t.Errorf("while the first pack is being stored, the lock names %v and data/ holds %v; want that pack named, none stored",
			info.Packs, objects(t, fb, "data/"))
	}
	pause.Release()
	if err := <-saved; err != nil {
		t.Fatal(err)
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Index().PackSize(info.Packs[0]); !ok {
		t.Errorf("the recorded pack %s is not indexed after Flush", info.Packs[0].Short())
	}
}
