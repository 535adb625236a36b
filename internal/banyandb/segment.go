package banyandb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SegmentPrefix starts the name of every segment directory.
const SegmentPrefix = "seg-"

// Segment is one time window of a measure, stream or trace group:
// <data>/<group>/seg-<start>.
type Segment struct {
	Catalog Catalog
	Group   string
	// Name is the directory name, e.g. "seg-20261119".
	Name string
	// Start is the window's start, parsed from Name in the server's time zone.
	Start time.Time
	// End is the window's end: endTime from the metadata file when present
	// (EndKnown true); else derived (EndKnown false) as the start of the
	// group's next segment, or Start plus one naming unit (day or hour) for
	// the last one. A derived end can be wrong when the group's
	// segment_interval spans several units.
	End      time.Time
	EndKnown bool
	// Version is the segment format from the metadata file ("1.4.0",
	// "1.5.0"); "" when the file is missing or unreadable (see
	// Layout.Warnings). The server deletes a segment without metadata.
	Version string
}

// Path returns the segment directory relative to the catalog's data dir.
func (s Segment) Path() string {
	return s.Group + "/" + s.Name
}

// ParseSegmentName parses a segment directory name, seg-YYYYMMDD (daily
// segments) or seg-YYYYMMDDHH (hourly segments), in loc (nil means
// time.Local), the server's time zone. It returns the window's start and the
// naming unit, 24h or 1h.
func ParseSegmentName(name string, loc *time.Location) (start time.Time, unit time.Duration, err error) {
	if loc == nil {
		loc = time.Local
	}
	digits, ok := strings.CutPrefix(name, SegmentPrefix)
	if !ok || !allDigits(digits) {
		return time.Time{}, 0, fmt.Errorf("cannot parse segment name %q: want seg-YYYYMMDD or seg-YYYYMMDDHH", name)
	}
	var layout string
	switch len(digits) {
	case 8:
		layout, unit = "20060102", 24*time.Hour
	case 10:
		layout, unit = "2006010215", time.Hour
	default:
		return time.Time{}, 0, fmt.Errorf("cannot parse segment name %q: want seg-YYYYMMDD or seg-YYYYMMDDHH", name)
	}
	start, err = time.ParseInLocation(layout, digits, loc)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("cannot parse segment name %q: %w", name, err)
	}
	return start, unit, nil
}

// nextWindow returns the end of a window of one unit starting at start. Days
// are calendar days in start's location, so that they follow daylight saving
// changes like the server's local-time grid.
func nextWindow(start time.Time, unit time.Duration) time.Time {
	if unit == 24*time.Hour {
		return start.AddDate(0, 0, 1)
	}
	return start.Add(unit)
}

// segmentMetadata is the JSON form of a segment's metadata file (format
// 1.5.0 and later).
type segmentMetadata struct {
	Version string `json:"version"`
	EndTime string `json:"endTime"`
}

// ParseSegmentMetadata parses a segment's metadata file: JSON such as
// {"version":"1.5.0","endTime":"2026-11-23T00:00:00Z"} (format 1.5.0 on), or
// the plain version text "1.4.0" of older formats. hasEnd tells whether the
// file gave an end time.
func ParseSegmentMetadata(b []byte) (version string, end time.Time, hasEnd bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return "", time.Time{}, false, fmt.Errorf("cannot parse segment metadata: empty")
	}
	if b[0] != '{' {
		v := string(b)
		if !isVersion(v) {
			return "", time.Time{}, false, fmt.Errorf("cannot parse segment metadata %q: not a version such as 1.4.0", truncate(v))
		}
		return v, time.Time{}, false, nil
	}
	var m segmentMetadata
	if err := json.Unmarshal(b, &m); err != nil {
		return "", time.Time{}, false, fmt.Errorf("cannot parse segment metadata: %w", err)
	}
	if !isVersion(m.Version) {
		return "", time.Time{}, false, fmt.Errorf("cannot parse segment metadata: version %q is not a version such as 1.5.0", truncate(m.Version))
	}
	if m.EndTime == "" {
		return m.Version, time.Time{}, false, nil
	}
	end, err = time.Parse(time.RFC3339Nano, m.EndTime)
	if err != nil {
		return "", time.Time{}, false, fmt.Errorf("cannot parse segment metadata endTime: %w", err)
	}
	return m.Version, end, true, nil
}

// isVersion reports whether s is a dotted version of two or three numbers.
func isVersion(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return false
	}
	for _, p := range parts {
		if _, err := strconv.ParseUint(p, 10, 32); err != nil || !allDigits(p) {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const limit = 40
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
