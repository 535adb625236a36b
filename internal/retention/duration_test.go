package retention

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Duration
	}{
		{"30d", Duration{Days: 30}},
		{"2y5m7d3h", Duration{2, 5, 7, 3}},
		{"36h", Duration{Hours: 36}},
		{"1y", Duration{Years: 1}},
		{"6m", Duration{Months: 6}},
		{"0d", Duration{}},
		{" 7d ", Duration{Days: 7}},
	} {
		got, err := ParseDuration(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDuration(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "d", "30", "30x", "1h1d", "1d1d", "-1d", "1.5d", "30 d", "99999999999d"} {
		if d, err := ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %+v, want an error", in, d)
		}
	}
}

func TestDurationStringRoundTrip(t *testing.T) {
	for _, d := range []Duration{{}, {Days: 30}, {2, 5, 7, 3}, {Hours: 1}} {
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Errorf("%+v → %q → %+v, %v", d, d.String(), back, err)
		}
	}
}

func TestDurationBefore(t *testing.T) {
	t0 := time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC)
	// Calendar months: 1 month before 03-31 is "02-31", normalised by
	// AddDate to 03-03.
	if got, want := (Duration{Months: 1}).Before(t0), time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("1m before %v = %v, want %v", t0, got, want)
	}
	if got, want := (Duration{Days: 1, Hours: 13}).Before(t0), time.Date(2026, 3, 29, 23, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("1d13h before %v = %v, want %v", t0, got, want)
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "2y5m7d3h", "", "1h1d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		back, err := ParseDuration(d.String())
		if err != nil || back != d {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, d, d.String(), back, err)
		}
	})
}
