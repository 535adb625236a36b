package banyandb_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones by name on machines without a zone database

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// days returns daily segments of group g named for the days from first on,
// each ending where the next starts, in loc: what a server in loc writes.
func days(g string, loc *time.Location, first time.Time, n int) []banyandb.SegmentEnd {
	var out []banyandb.SegmentEnd
	for i := 0; i < n; i++ {
		d := first.AddDate(0, 0, i)
		start := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
		out = append(out, banyandb.SegmentEnd{Catalog: banyandb.Measure, Group: g, Name: "seg-" + start.Format("20060102"),
			End: start.AddDate(0, 0, 1).UTC(), EndKnown: true})
	}
	return out
}

// hours returns segments of group g named for hours, each `width` hours
// long, starting every `every` hours from first, in loc.
func hours(g string, loc *time.Location, first time.Time, n, width, every int) []banyandb.SegmentEnd {
	var out []banyandb.SegmentEnd
	for i := 0; i < n; i++ {
		h := first.Add(time.Duration(i*every) * time.Hour)
		start := time.Date(h.Year(), h.Month(), h.Day(), h.Hour(), 0, 0, 0, loc)
		out = append(out, banyandb.SegmentEnd{Catalog: banyandb.Stream, Group: g, Name: "seg-" + start.Format("2006010215"),
			End: start.Add(time.Duration(width) * time.Hour).UTC(), EndKnown: true})
	}
	return out
}

func TestResolveZoneLearnsFromSegmentEnds(t *testing.T) {
	shanghai, berlin, honolulu := mustZone(t, "Asia/Shanghai"), mustZone(t, "Europe/Berlin"), mustZone(t, "Pacific/Honolulu")
	kolkata := mustZone(t, "Asia/Kolkata")
	nov := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	march := time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC) // Berlin moves to summer time on 2026-03-29
	noEnds := days("g", shanghai, nov, 3)
	for i := range noEnds {
		noEnds[i].EndKnown, noEnds[i].End = false, time.Time{}
	}
	tests := []struct {
		name   string
		segs   []banyandb.SegmentEnd
		local  *time.Location
		want   string // the zone's name; "local" for the local zone itself
		source banyandb.ZoneSource
	}{
		{"UTC server, runner in Shanghai", days("g", time.UTC, nov, 5), shanghai, "UTC", banyandb.ZoneLearned},
		{"Shanghai server, runner in UTC", days("g", shanghai, nov, 5), time.UTC, "UTC+08:00", banyandb.ZoneLearned},
		{"Shanghai server, runner in Shanghai", days("g", shanghai, nov, 5), shanghai, "local", banyandb.ZoneLearned},
		{"one segment", days("g", shanghai, nov, 1), time.UTC, "UTC+08:00", banyandb.ZoneLearned},
		{"half-hour offset, hourly contiguous", hours("g", kolkata, nov, 6, 1, 1), time.UTC, "UTC+05:30", banyandb.ZoneLearned},
		{"hourly 4h windows, contiguous", hours("g", shanghai, nov, 6, 4, 4), time.UTC, "UTC+08:00", banyandb.ZoneLearned},
		{"Honolulu, two contiguous days", days("g", honolulu, nov, 2), time.UTC, "UTC-10:00", banyandb.ZoneLearned},
		{"Berlin across summer time, runner in Berlin", days("g", berlin, march, 5), berlin, "local", banyandb.ZoneLocal},
		{"no segment records its end", noEnds, time.UTC, "local", banyandb.ZoneLocal},
		{"no segments", nil, shanghai, "local", banyandb.ZoneLocal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, err := banyandb.ResolveZone(tc.segs, banyandb.ZoneOptions{Local: tc.local})
			if err != nil {
				t.Fatal(err)
			}
			got := z.Location.String()
			if z.Location == tc.local {
				got = "local"
			}
			if got != tc.want || z.Source != tc.source {
				t.Errorf("zone %s (%s), want %s (%s)", got, z.Source, tc.want, tc.source)
			}
			for _, s := range tc.segs {
				if !s.EndKnown {
					continue
				}
				start, unit, _ := banyandb.ParseSegmentName(s.Name, z.Location)
				if !s.End.After(start) || s.End.Sub(start) > 4*unit+time.Hour {
					t.Errorf("%s read in %s starts %v, but ends %v", s.Name, z.Location, start, s.End)
				}
			}
		})
	}
}

func TestResolveZoneRefusesAContradiction(t *testing.T) {
	shanghai, berlin := mustZone(t, "Asia/Shanghai"), mustZone(t, "Europe/Berlin")
	nov := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	march := time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		segs  []banyandb.SegmentEnd
		opts  banyandb.ZoneOptions
		wants []string
	}{
		{"Shanghai given for a UTC server", days("bk_measure", time.UTC, nov, 5), banyandb.ZoneOptions{Given: shanghai},
			[]string{"Asia/Shanghai", "measure/bk_measure/seg-20261119", "2026-11-20T00:00:00Z", "implies the offset UTC+00:00", "--time-zone"}},
		{"UTC given for a Shanghai server", days("bk_measure", shanghai, nov, 5), banyandb.ZoneOptions{Given: time.UTC},
			[]string{"in UTC", "seg-20261119", "2026-11-19T16:00:00Z", "implies the offset UTC+08:00"}},
		{"Berlin server, runner in UTC", days("g", berlin, march, 5), banyandb.ZoneOptions{Local: time.UTC},
			[]string{"fits no single offset", "daylight saving", "seg-20260327", "--time-zone"}},
		{"one 4h window named by the hour, runner in UTC", hours("g", shanghai, nov, 1, 4, 4), banyandb.ZoneOptions{Local: time.UTC},
			[]string{"fits offsets from UTC+05:00 to UTC+14:00", "does not settle", "--time-zone"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, err := banyandb.ResolveZone(tc.segs, tc.opts)
			if !errors.Is(err, banyandb.ErrTimeZone) {
				t.Fatalf("zone %v, error %v; want ErrTimeZone", z.Location, err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestResolveZoneAcceptsAFittingGivenZone(t *testing.T) {
	berlin := mustZone(t, "Europe/Berlin")
	segs := days("g", berlin, time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC), 5)
	z, err := banyandb.ResolveZone(segs, banyandb.ZoneOptions{Given: berlin, Local: time.UTC})
	if err != nil || z.Location != berlin || z.Source != banyandb.ZoneGiven || z.Evidence != 5 {
		t.Fatalf("zone %+v, %v; want Berlin, given, 5 segments", z, err)
	}
}

func TestParseZone(t *testing.T) {
	tests := []struct {
		in     string
		name   string
		offset int // seconds east of UTC in November 2026
		ok     bool
	}{
		{"UTC+08:00", "UTC+08:00", 8 * 3600, true},
		{"UTC+8", "UTC+08:00", 8 * 3600, true},
		{"UTC-05:30", "UTC-05:30", -(5*3600 + 1800), true},
		{"UTC+00:00", "UTC", 0, true},
		{"UTC", "UTC", 0, true},
		{"Asia/Shanghai", "Asia/Shanghai", 8 * 3600, true},
		{"UTC+15", "", 0, false},
		{"UTC+08:60", "", 0, false},
		{"UTC+x", "", 0, false},
		{"Mars/Olympus_Mons", "", 0, false},
	}
	for _, tc := range tests {
		loc, err := banyandb.ParseZone(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseZone(%q): %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if !tc.ok {
			continue
		}
		_, off := time.Date(2026, 11, 20, 0, 0, 0, 0, loc).Zone()
		if name := banyandb.ZoneName(loc); name != tc.name || off != tc.offset {
			t.Errorf("ParseZone(%q) = %s at %d s, want %s at %d s", tc.in, name, off, tc.name, tc.offset)
		}
		back, err := banyandb.ParseZone(banyandb.ZoneName(loc))
		if err != nil || back.String() != loc.String() {
			t.Errorf("ParseZone(ZoneName(%q)) = %v, %v", tc.in, back, err)
		}
	}
	if loc, err := banyandb.ParseZone(""); loc != nil || err != nil {
		t.Errorf(`ParseZone("") = %v, %v; want nil (learn)`, loc, err)
	}
}

// The 0.11 fixture's server ran in UTC: seg-20261122's metadata records the
// end 2026-11-23T00:00:00Z, one day after the name's midnight in UTC. A scan
// learns that whatever the local zone, refuses a zone the ends contradict,
// and learns UTC+08:00 from the same root rewritten by a server at +08:00.
func TestScanLearnsTheServersZone(t *testing.T) {
	shanghai := mustZone(t, "Asia/Shanghai")
	segStart := func(t *testing.T, l *banyandb.Layout) time.Time {
		t.Helper()
		for _, s := range l.Segments {
			if s.Catalog == banyandb.Measure && s.Name == "seg-20261122" {
				return s.Start
			}
		}
		t.Fatal("no measure segment seg-20261122")
		return time.Time{}
	}
	t.Run("UTC fixture", func(t *testing.T) {
		root := filepath.Join(readOnlyFixture(t, fixture.V011), "data")
		l, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, off := time.Now().In(l.Zone.Location).Zone(); off != 0 || l.Zone.Source != banyandb.ZoneLearned || l.Zone.Evidence != 15 {
			t.Errorf("zone %+v (offset %d s), want UTC learned from 15 segments", l.Zone, off)
		}
		if got := segStart(t, l); !got.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("seg-20261122 starts %v, want 2026-11-22T00:00Z", got)
		}
		_, err = banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: shanghai})
		if !errors.Is(err, banyandb.ErrTimeZone) || !strings.Contains(err.Error(), "implies the offset UTC+00:00") {
			t.Errorf("scan in Asia/Shanghai: %v; want ErrTimeZone naming UTC+00:00", err)
		}
		l, err = banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: shanghai, ZoneUnchecked: true})
		if err != nil || l.Zone.Location != shanghai {
			t.Errorf("unchecked scan in Asia/Shanghai: %v", err)
		}
	})
	t.Run("rewritten to +08:00", func(t *testing.T) {
		root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
		fixture.ShiftZone(t, root, 8*time.Hour)
		l, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, off := time.Now().In(l.Zone.Location).Zone(); off != 8*3600 || l.Zone.Source != banyandb.ZoneLearned {
			t.Errorf("zone %+v, want +08:00 learned", l.Zone)
		}
		if got := segStart(t, l); !got.Equal(time.Date(2026, 11, 21, 16, 0, 0, 0, time.UTC)) {
			t.Errorf("seg-20261122 starts %v, want 2026-11-21T16:00Z", got)
		}
		if _, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: time.UTC}); !errors.Is(err, banyandb.ErrTimeZone) {
			t.Errorf("scan in UTC: %v; want ErrTimeZone", err)
		}
		if _, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: shanghai}); err != nil {
			t.Errorf("scan in Asia/Shanghai: %v", err)
		}
	})
	t.Run("0.10.2 fixture records no ends", func(t *testing.T) {
		root := filepath.Join(readOnlyFixture(t, fixture.V0102), "data")
		l, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: shanghai})
		if err != nil || l.Zone.Source != banyandb.ZoneGiven || l.Zone.Evidence != 0 {
			t.Errorf("scan in Asia/Shanghai: %+v, %v; want it accepted, with nothing to check", l.Zone, err)
		}
		l, err = banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{})
		if err != nil || l.Zone.Location != time.Local || l.Zone.Source != banyandb.ZoneLocal {
			t.Errorf("scan: %+v, %v; want the local zone", l.Zone, err)
		}
	})
}
