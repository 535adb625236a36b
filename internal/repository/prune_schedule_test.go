package repository_test

import (
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/retention"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// zone is the local time of the simulated schedule.
var zone = time.FixedZone("UTC+5", 5*3600)

// scheduleTimes is a daily backup at 23:00 from 2026-03-01 to 2026-04-27
// and hourly backups (00:00 to 23:00) on 04-28 and 04-29: 58 + 48 = 106
// backups over 60 days, oldest first.
func scheduleTimes() []time.Time {
	var out []time.Time
	day := time.Date(2026, 3, 1, 0, 0, 0, 0, zone)
	for d := range 60 {
		date := day.AddDate(0, 0, d)
		if d < 58 {
			out = append(out, date.Add(23*time.Hour))
			continue
		}
		for h := range 24 {
			out = append(out, date.Add(time.Duration(h)*time.Hour))
		}
	}
	return out
}

// expectedKept is worked out by hand for scheduleTimes and keep-hourly 24,
// keep-daily 7, keep-weekly 4, keep-monthly 6 (2026-03-01 is a Sunday,
// 04-29 a Wednesday; ISO weeks start on Monday):
//   - hourly: the 24 hourly backups of 04-29;
//   - daily: 23:00 of 04-29 and of 04-28 … 04-23;
//   - weekly: 04-29 (week of 04-27), 04-26, 04-19, 04-12 (Sundays);
//   - monthly: 04-29 (April), 03-31 (March), and with counts left the
//     oldest backup, 03-01 23:00.
func expectedKept() []string {
	want := []string{"2026-03-01 23:00", "2026-03-31 23:00", "2026-04-12 23:00", "2026-04-19 23:00"}
	for d := 23; d <= 28; d++ {
		want = append(want, time.Date(2026, 4, d, 23, 0, 0, 0, zone).Format("2006-01-02 15:04"))
	}
	for h := range 24 {
		want = append(want, time.Date(2026, 4, 29, h, 0, 0, 0, zone).Format("2006-01-02 15:04"))
	}
	sort.Strings(want)
	return want
}

// TestRetentionScheduleThenPrune takes real backups of a changing data root
// on a simulated 60-day schedule (a fake repository clock), forgets by the
// policy, prunes, and checks the kept set, the space reclaimed, and that
// every kept backup verifies with --read-data.
func TestRetentionScheduleThenPrune(t *testing.T) {
	if testing.Short() {
		t.Skip("106 backups")
	}
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "repo")
	clock := &fakeClock{}
	times := scheduleTimes()
	clock.Set(times[0])
	repo, err := repository.Init(ctx, local.New(dir), repository.InitOptions{PackSize: 128 << 10}, repository.Options{Clock: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	root := newPruneRoot(t)
	// Every run adds a short-lived part (gone at the next run) and a
	// long-lived one (gone five runs later), 80 KiB in all: both land in
	// one 128 KiB pack, so forgetting a backup leaves packs partly used.
	firstOfRun := map[string][]byte{} // local time → a file of the run's short-lived part
	for i, tm := range times {
		clock.Set(tm)
		root.addPart(t, 2*i, 2, 20<<10)
		root.addPart(t, 2*i+1, 2, 20<<10)
		if i > 0 {
			root.removePart(t, 2*(i-1))
		}
		if i >= 5 {
			root.removePart(t, 2*(i-5)+1)
		}
		firstOfRun[tm.Format("2006-01-02 15:04")] = readFile(t, filepath.Join(root.partDir(2*i), "f0.bin"))
		root.backup(t, repo, backup.Options{})
	}

	backups, err := repo.Backups(ctx)
	if err != nil || len(backups) != len(times) {
		t.Fatalf("%d backups (%v), want %d", len(backups), err, len(times))
	}
	var in []retention.Backup
	for _, b := range backups {
		in = append(in, retention.Backup{ID: b.ID.String(), Time: b.Time, Tags: b.Tags})
	}
	policy := retention.Policy{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 6, Location: zone}
	var kept []string
	var remove []repository.ID
	for _, d := range policy.Apply(in, clock.Now()) {
		if d.Keep {
			kept = append(kept, d.Time.In(zone).Format("2006-01-02 15:04"))
			continue
		}
		id, err := repository.ParseID(d.ID)
		if err != nil {
			t.Fatal(err)
		}
		remove = append(remove, id)
	}
	sort.Strings(kept)
	if want := expectedKept(); !slices.Equal(kept, want) {
		t.Fatalf("policy kept\n%v\nwant\n%v", kept, want)
	}

	lock, err := repo.Lock(ctx, "forget", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := repo.RemoveBackups(ctx, lock, remove); err != nil {
		t.Fatal(err)
	}
	before := dirBytes(t, filepath.Join(dir, "data")) + dirBytes(t, filepath.Join(dir, "index"))
	res, err := repo.Prune(ctx, lock, repository.PruneOptions{})
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if err := lock.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	after := dirBytes(t, filepath.Join(dir, "data")) + dirBytes(t, filepath.Join(dir, "index"))
	t.Logf("prune: %+v; repository %d → %d bytes", *res, before, after)
	if res.BytesBefore != before || res.BytesAfter != after || res.BytesFreed != before-after {
		t.Errorf("prune reports %d → %d (freed %d), measured %d → %d", res.BytesBefore, res.BytesAfter, res.BytesFreed, before, after)
	}
	// 72 backups were forgotten, each with 80 KiB of parts no kept backup
	// has (its short-lived part, and for most its long-lived one):
	// at least 72 × 40 KiB must be gone.
	if before-after < 72*40<<10 {
		t.Errorf("prune freed %d bytes, want at least %d", before-after, 72*40<<10)
	}
	if res.PacksRepacked == 0 || res.PacksUnused == 0 {
		t.Errorf("want both repacked and wholly unused packs: %+v", *res)
	}

	// The data of a forgotten backup's short-lived part is gone; a kept
	// backup's is there.
	fresh, err := repository.Open(ctx, local.New(dir), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	for at, data := range firstOfRun {
		id := repository.Hash(data)
		keptRun := slices.Contains(kept, at)
		if fresh.Index().Has(id) != keptRun {
			t.Errorf("run %s (kept %v): its part's blob indexed = %v", at, keptRun, fresh.Index().Has(id))
		}
	}
	if n := verifyAll(t, dir); n != 34 {
		t.Errorf("%d backups after prune, want 34", n)
	}

	// Pruning again finds nothing.
	again := pruneOnce(t, fresh)
	if again.PacksDeleted != 0 || again.PacksWritten != 0 || again.BytesFreed != 0 {
		t.Errorf("second prune did something: %+v", *again)
	}
}

func pruneOnce(t *testing.T, repo *repository.Repository) *repository.PruneResult {
	t.Helper()
	lock, err := repo.Lock(t.Context(), "prune", true)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock(t.Context())
	res, err := repo.Prune(t.Context(), lock, repository.PruneOptions{})
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	return res
}
