package restore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTimeArg parses a --from or --to value: an RFC 3339 time
// ("2026-11-20T06:00:00Z"), a date ("2026-11-20", a whole day in loc), or a
// time relative to now ("-72h", "-3d", "-90m": that long ago). A date as the
// end of a window (end true) means the end of that day, so that
// --from 2026-11-20 --to 2026-11-21 covers both days.
func ParseTimeArg(s string, now time.Time, loc *time.Location, end bool) (time.Time, error) {
	if loc == nil {
		loc = time.Local
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02T15:04:05", s, loc); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, loc); err == nil {
		if end {
			return t.AddDate(0, 0, 1).Add(-time.Nanosecond), nil
		}
		return t, nil
	}
	if ago, ok := strings.CutPrefix(s, "-"); ok {
		d, err := parseDuration(ago)
		if err == nil {
			return now.Add(-d), nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse time %q: want RFC 3339 (2026-11-20T06:00:00Z), a date (2026-11-20) or a time ago (-72h, -3d)", s)
}

// parseDuration is time.ParseDuration that also takes whole days ("3d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad number of days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	return d, nil
}
