package banyandb_test

import (
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

func TestParseSegmentName(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone data: %v", err)
	}
	tests := []struct {
		name  string
		loc   *time.Location
		start time.Time
		unit  time.Duration
		ok    bool
	}{
		{"seg-20261119", time.UTC, time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), 24 * time.Hour, true},
		{"seg-2026111907", time.UTC, time.Date(2026, 11, 19, 7, 0, 0, 0, time.UTC), time.Hour, true},
		{"seg-20261119", berlin, time.Date(2026, 11, 18, 23, 0, 0, 0, time.UTC), 24 * time.Hour, true},
		{"seg-2026111", time.UTC, time.Time{}, 0, false},
		{"seg-202611190", time.UTC, time.Time{}, 0, false},
		{"seg-20261332", time.UTC, time.Time{}, 0, false},
		{"seg-2026111925", time.UTC, time.Time{}, 0, false},
		{"seg-2026-11-1", time.UTC, time.Time{}, 0, false},
		{"sag-20261119", time.UTC, time.Time{}, 0, false},
		{"seg-", time.UTC, time.Time{}, 0, false},
	}
	for _, tc := range tests {
		start, unit, err := banyandb.ParseSegmentName(tc.name, tc.loc)
		if (err == nil) != tc.ok {
			t.Errorf("ParseSegmentName(%q): err %v, want ok %v", tc.name, err, tc.ok)
			continue
		}
		if !start.Equal(tc.start) || unit != tc.unit {
			t.Errorf("ParseSegmentName(%q) = %v, %v; want %v, %v", tc.name, start, unit, tc.start, tc.unit)
		}
	}
}

func TestParseSegmentMetadata(t *testing.T) {
	tests := []struct {
		in      string
		version string
		end     time.Time
		hasEnd  bool
		ok      bool
	}{
		{`{"version":"1.5.0","endTime":"2026-11-20T00:00:00Z"}`, "1.5.0", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), true, true},
		{"{\"version\":\"1.5.0\",\"endTime\":\"2026-11-20T01:00:00+01:00\"}\n", "1.5.0", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), true, true},
		{`{"version":"1.5.0"}`, "1.5.0", time.Time{}, false, true},
		{"1.4.0", "1.4.0", time.Time{}, false, true},
		{" 1.4.0\n", "1.4.0", time.Time{}, false, true},
		{"", "", time.Time{}, false, false},
		{"  \n", "", time.Time{}, false, false},
		{"hello", "", time.Time{}, false, false},
		{"1.4.0 extra", "", time.Time{}, false, false},
		{`{"version":"1.5.0","endTime":"tomorrow"}`, "", time.Time{}, false, false},
		{`{"endTime":"2026-11-20T00:00:00Z"}`, "", time.Time{}, false, false},
		{`{"version":`, "", time.Time{}, false, false},
	}
	for _, tc := range tests {
		version, end, hasEnd, err := banyandb.ParseSegmentMetadata([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("ParseSegmentMetadata(%q): err %v, want ok %v", tc.in, err, tc.ok)
			continue
		}
		if version != tc.version || !end.Equal(tc.end) || hasEnd != tc.hasEnd {
			t.Errorf("ParseSegmentMetadata(%q) = %q, %v, %v; want %q, %v, %v", tc.in, version, end, hasEnd, tc.version, tc.end, tc.hasEnd)
		}
	}
}
