package retention

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a calendar duration: years, months, days and hours, as
// written after --keep-within ("30d", "2y5m7d3h", "36h"). Months and years
// follow the calendar (time.AddDate), not a fixed number of hours.
type Duration struct {
	Years, Months, Days, Hours int
}

// ParseDuration parses a sequence of <number><unit> with the units y
// (years), m (months), d (days) and h (hours), each at most once, in that
// order, such as "30d", "1y6m" or "2y5m7d3h".
func ParseDuration(s string) (Duration, error) {
	var d Duration
	rest := strings.TrimSpace(s)
	if rest == "" {
		return d, fmt.Errorf("cannot parse duration %q: it is empty; write e.g. 30d, 12h or 2y5m7d3h", s)
	}
	order := "ymdh"
	seen := -1
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return Duration{}, fmt.Errorf("cannot parse duration %q: want numbers each followed by a unit y, m, d or h (e.g. 30d or 2y5m7d3h)", s)
		}
		n, err := strconv.Atoi(rest[:i])
		if err != nil || n > 1e6 {
			return Duration{}, fmt.Errorf("cannot parse duration %q: %q is too large", s, rest[:i])
		}
		unit := strings.IndexByte(order, rest[i])
		switch {
		case unit < 0:
			return Duration{}, fmt.Errorf("cannot parse duration %q: unknown unit %q; use y (years), m (months), d (days) or h (hours)", s, rest[i])
		case unit <= seen:
			return Duration{}, fmt.Errorf("cannot parse duration %q: give each unit once, in the order y, m, d, h", s)
		}
		seen = unit
		switch unit {
		case 0:
			d.Years = n
		case 1:
			d.Months = n
		case 2:
			d.Days = n
		case 3:
			d.Hours = n
		}
		rest = rest[i+1:]
	}
	return d, nil
}

// String returns the duration as ParseDuration reads it; zero is "0h".
func (d Duration) String() string {
	var b strings.Builder
	for _, p := range []struct {
		n    int
		unit string
	}{{d.Years, "y"}, {d.Months, "m"}, {d.Days, "d"}, {d.Hours, "h"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.unit)
		}
	}
	if b.Len() == 0 {
		return "0h"
	}
	return b.String()
}

// Zero reports whether d is empty.
func (d Duration) Zero() bool { return d == Duration{} }

// Before returns the time d before t, in t's calendar.
func (d Duration) Before(t time.Time) time.Time {
	return t.AddDate(-d.Years, -d.Months, -d.Days).Add(-time.Duration(d.Hours) * time.Hour)
}

// Set implements pflag.Value, so a Duration can be a command-line flag.
func (d *Duration) Set(s string) error {
	p, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// Type implements pflag.Value.
func (d *Duration) Type() string { return "duration" }
