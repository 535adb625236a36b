package restore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // zones by name on machines without a zone database

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// asOlderRelease stores a copy of backup b as a release before manifests
// recorded the server's zone would have written it on a machine in loc
// with no zone given: no server_zone, and every segment's start read from
// its name in loc (a derived end moved with it).
func asOlderRelease(t *testing.T, repo *repository.Repository, b repository.Backup, loc *time.Location) repository.Backup {
	t.Helper()
	ctx := context.Background()
	saver := repo.NewSaver(ctx)
	rezone := func(name string, s *repository.SegmentInfo) {
		start, _, err := banyandb.ParseSegmentName(name, loc)
		if err != nil {
			t.Fatal(err)
		}
		if !s.EndKnown {
			s.End = s.End.Add(start.Sub(s.Start))
		}
		s.Start = start.UTC()
	}
	var rewrite func(id repository.ID, depth int) repository.ID
	rewrite = func(id repository.ID, depth int) repository.ID {
		tree, err := repo.LoadTree(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tree.Entries {
			n := &tree.Entries[i]
			if n.Segment != nil {
				rezone(n.Name, n.Segment)
			}
			if n.Subtree != nil && depth < 2 {
				sub := rewrite(*n.Subtree, depth+1)
				n.Subtree = &sub
			}
		}
		newID, _, err := saver.SaveTree(ctx, tree, &repository.Scratch{})
		if err != nil {
			t.Fatal(err)
		}
		return newID
	}
	m := *b.Manifest
	m.Tree = rewrite(b.Tree, 0)
	m.ServerZone = nil
	m.Segments = slices.Clone(m.Segments)
	for i := range m.Segments {
		rezone(m.Segments[i].Name, &m.Segments[i].SegmentInfo)
	}
	if _, err := saver.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	id, _, err := repo.SaveManifest(ctx, &m)
	if err != nil {
		t.Fatal(err)
	}
	return repository.Backup{ID: id, Manifest: &m}
}

// restoredSegments restores bk_measure up to `to` and lists its segments.
func restoredSegments(t *testing.T, repo *repository.Repository, b repository.Backup, sel restore.Selection) []string {
	t.Helper()
	target := filepath.Join(t.TempDir(), "target")
	sel.Catalogs, sel.Groups = []banyandb.Catalog{banyandb.Measure}, []string{"bk_measure"}
	if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Selection: sel}); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(filepath.Join(target, "measure", "data", "bk_measure"))
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// The fixture's server ran in UTC. A backup taken on a machine in
// Asia/Shanghai by a release that guessed the local zone recorded its
// segments starting 8 hours early, so a window up to 2026-11-21T20:00Z
// took seg-20261122 too. Its segment ends say UTC: the restore reads the
// names again in UTC and takes only the three days the window meets.
func TestRestoreOfAnOlderBackupReadsSegmentNamesInTheLearnedZone(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	repo, b := backupRoot(t, filepath.Join(fixture.ForTest(t, fixture.V011), "data"))
	if b.ServerZone == nil || b.ServerZone.Name != "UTC" || b.ServerZone.Source != "given" {
		t.Fatalf("backup records zone %+v, want UTC, given", b.ServerZone)
	}
	zone, reread, err := restore.ZoneFor(b, nil)
	if err != nil || zone.Location != time.UTC || zone.Source != banyandb.ZoneRecorded || reread {
		t.Errorf("ZoneFor(new backup) = %+v, reread %v, %v; want the recorded UTC", zone, reread, err)
	}

	old := asOlderRelease(t, repo, b, shanghai)
	to := time.Date(2026, 11, 21, 20, 0, 0, 0, time.UTC)
	want := []string{"seg-20261119", "seg-20261120", "seg-20261121"}
	if got := restoredSegments(t, repo, old, restore.Selection{To: to}); !slices.Equal(got, append(want, "seg-20261122")) {
		t.Fatalf("the recorded windows select %v: the test's older backup is not what it should be", got)
	}
	zone, reread, err = restore.ZoneFor(old, nil)
	if err != nil || zone.Source != banyandb.ZoneLearned || !reread {
		t.Fatalf("ZoneFor(older backup) = %+v, reread %v, %v; want learned and read again", zone, reread, err)
	}
	if _, off := time.Now().In(zone.Location).Zone(); off != 0 {
		t.Errorf("learned zone %v, want UTC", zone.Location)
	}
	if got := restoredSegments(t, repo, old, restore.Selection{To: to, Zone: zone.Location}); !slices.Equal(got, want) {
		t.Errorf("restored %v, want %v", got, want)
	}
	if _, _, err := restore.ZoneFor(old, shanghai); !errors.Is(err, banyandb.ErrTimeZone) {
		t.Errorf("ZoneFor(older backup, Asia/Shanghai) = %v, want ErrTimeZone", err)
	}
}
