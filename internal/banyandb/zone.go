package banyandb

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrTimeZone is wrapped by the error of a zone the segments' metadata
// contradicts, and of a root whose zone cannot be learned from its
// metadata when the local zone contradicts it: the user must give the
// server's zone.
var ErrTimeZone = errors.New("wrong time zone")

// ZoneSource says how the zone segment names are read in was chosen.
type ZoneSource string

// The ways a zone is chosen.
const (
	// ZoneGiven: the user gave it, and no segment's metadata contradicts it.
	ZoneGiven ZoneSource = "given"
	// ZoneLearned: from the ends that segments' metadata records.
	ZoneLearned ZoneSource = "learned"
	// ZoneLocal: the machine's zone, for want of anything to learn from
	// (segments of format 1.4.0 record no end).
	ZoneLocal ZoneSource = "local"
	// ZoneRecorded: the zone a backup's manifest records (restores).
	ZoneRecorded ZoneSource = "recorded"
)

// Zone is the time zone segment names are read in, and how it was chosen.
type Zone struct {
	Location *time.Location
	Source   ZoneSource
	// Evidence is how many segments record their end: what the zone was
	// checked against or learned from.
	Evidence int
}

// Name returns the zone's name as ParseZone reads it back.
func (z Zone) Name() string { return ZoneName(z.Location) }

// Describe says in words which zone it is and why, for the CLI.
func (z Zone) Describe() string {
	name := z.Name()
	switch z.Source {
	case ZoneGiven:
		if z.Evidence == 0 {
			return name + " (given; no segment's metadata records its end to check it against)"
		}
		return fmt.Sprintf("%s (given; the ends recorded in %s agree with it)", name, segmentsMetadata(z.Evidence))
	case ZoneLearned:
		if z.Location == time.Local {
			return fmt.Sprintf("%s (the local zone; the ends recorded in %s agree with it)", name, segmentsMetadata(z.Evidence))
		}
		return fmt.Sprintf("%s (learned from the ends recorded in %s)", name, segmentsMetadata(z.Evidence))
	case ZoneRecorded:
		return name + " (recorded in the backup)"
	}
	if z.Evidence > 0 {
		return fmt.Sprintf("%s (the local zone; the ends recorded in %s agree with it, but do not settle the zone)", name, segmentsMetadata(z.Evidence))
	}
	return name + " (the local zone; no segment's metadata records its end)"
}

// segmentsMetadata says whose metadata the n ends were recorded in.
func segmentsMetadata(n int) string {
	if n == 1 {
		return "one segment's metadata"
	}
	return fmt.Sprintf("%d segments' metadata", n)
}

// SegmentEnd is what a zone is checked against or learned from: a
// segment's name and the end its metadata records (format 1.5.0 on).
type SegmentEnd struct {
	Catalog  Catalog
	Group    string
	Name     string
	End      time.Time
	EndKnown bool
}

// ZoneOptions says how to choose the zone.
type ZoneOptions struct {
	// Given is the zone the user named; nil means learn it.
	Given *time.Location
	// Local is the machine's zone; nil means time.Local.
	Local *time.Location
}

// Offsets from UTC that zones use, at most.
const (
	minOffset = -12 * time.Hour
	maxOffset = 14 * time.Hour
)

// ResolveZone chooses the zone segment names are read in. A segment's
// name is the start of its window in the server's zone, and from format
// 1.5.0 on its metadata records the window's end as an instant
// (docs/banyandb.md, Segments): in the server's zone that end lies on the
// grid of the name's unit (a midnight, or a full hour), after the start
// and not after the start of the group's next segment.
//
// A given zone the ends contradict is refused (ErrTimeZone), naming the
// segment. With none given, the zone is learned: the fixed offsets from
// UTC that fit every end; one offset, or the largest when it makes some
// segment end exactly where the group's next one starts (as segments
// written one after the other do), is the server's, read as the local zone
// when that agrees at every end. When no single offset fits (a zone with
// daylight saving time) or the ends do not settle it, the local zone is
// used if it fits; else the error asks for the zone. Without any recorded
// end, the local zone is used.
func ResolveZone(segs []SegmentEnd, opts ZoneOptions) (Zone, error) {
	local := opts.Local
	if local == nil {
		local = time.Local
	}
	zs := zoneSegments(segs)
	if opts.Given != nil {
		if bad := misfit(zs, opts.Given); bad != nil {
			return Zone{}, fmt.Errorf("cannot read segment names in %s: %w: %s; give the server's zone with --time-zone, or leave it out to learn it from the data",
				ZoneName(opts.Given), ErrTimeZone, bad.contradiction(opts.Given))
		}
		return Zone{Location: opts.Given, Source: ZoneGiven, Evidence: len(zs)}, nil
	}
	if len(zs) == 0 {
		return Zone{Location: local, Source: ZoneLocal}, nil
	}
	fits := fittingOffsets(zs)
	if off, ok := settled(zs, fits); ok {
		if agrees(zs, local, off) {
			return Zone{Location: local, Source: ZoneLearned, Evidence: len(zs)}, nil
		}
		return Zone{Location: fixedZone(off), Source: ZoneLearned, Evidence: len(zs)}, nil
	}
	bad := misfit(zs, local)
	if bad == nil {
		return Zone{Location: local, Source: ZoneLocal, Evidence: len(zs)}, nil
	}
	if len(fits) == 0 {
		return Zone{}, fmt.Errorf("cannot learn the time zone of segment names: the segments' metadata fits no single offset from UTC (the server's zone has daylight saving time?), and the local zone %s is a %w: %s; give the server's zone with --time-zone",
			ZoneName(local), ErrTimeZone, bad.contradiction(local))
	}
	return Zone{}, fmt.Errorf("cannot learn the time zone of segment names: the segments' metadata fits offsets from %s to %s and does not settle which, and the local zone %s is a %w: %s; give the server's zone with --time-zone",
		offsetName(fits[0]), offsetName(fits[len(fits)-1]), ZoneName(local), ErrTimeZone, bad.contradiction(local))
}

// zoneSegment is a segment whose metadata records its end.
type zoneSegment struct {
	where string        // catalog/group/name, for messages
	unit  time.Duration // 24h or 1h
	wall  time.Time     // the name's date and hour, as if in UTC
	end   time.Time
	next  time.Time // the group's next segment's name, as wall; zero for none
}

// zoneSegments keeps the segments that record their end, with the name of
// their group's next segment.
func zoneSegments(segs []SegmentEnd) []zoneSegment {
	type named struct {
		SegmentEnd
		wall time.Time
		unit time.Duration
	}
	var all []named
	for _, s := range segs {
		wall, unit, err := ParseSegmentName(s.Name, time.UTC)
		if err == nil {
			all = append(all, named{s, wall, unit})
		}
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Catalog != b.Catalog || a.Group != b.Group {
			return string(a.Catalog)+"/"+a.Group < string(b.Catalog)+"/"+b.Group
		}
		return a.wall.Before(b.wall)
	})
	var out []zoneSegment
	for i, s := range all {
		if !s.EndKnown {
			continue
		}
		z := zoneSegment{where: string(s.Catalog) + "/" + s.Group + "/" + s.Name, unit: s.unit, wall: s.wall, end: s.End}
		if i+1 < len(all) && all[i+1].Catalog == s.Catalog && all[i+1].Group == s.Group && all[i+1].wall.After(s.wall) {
			z.next = all[i+1].wall
		}
		out = append(out, z)
	}
	return out
}

// in reads a wall time (fields as if in UTC) in loc.
func in(wall time.Time, loc *time.Location) time.Time {
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), 0, 0, 0, loc)
}

// fits reports whether the segment's recorded end fits names read in loc.
func (z zoneSegment) fits(loc *time.Location) bool {
	if !z.end.After(in(z.wall, loc)) {
		return false
	}
	e := z.end.In(loc)
	hour := 0
	if z.unit == time.Hour {
		hour = e.Hour()
	}
	if !time.Date(e.Year(), e.Month(), e.Day(), hour, 0, 0, 0, loc).Equal(z.end) {
		return false
	}
	return z.next.IsZero() || !z.end.After(in(z.next, loc))
}

// contiguous reports whether the segment ends where the group's next one
// starts, names read in loc.
func (z zoneSegment) contiguous(loc *time.Location) bool {
	return !z.next.IsZero() && z.end.Equal(in(z.next, loc))
}

// contradiction says how the segment's end contradicts loc.
func (z zoneSegment) contradiction(loc *time.Location) string {
	e := z.end.In(loc)
	_, off := e.Zone()
	msg := fmt.Sprintf("the metadata of segment %s records its end as %s, which in %s (%s then) is %s, not the end of a window that starts at the segment's name",
		z.where, z.end.UTC().Format(time.RFC3339), ZoneName(loc), offsetName(time.Duration(off)*time.Second), e.Format("2006-01-02 15:04"))
	if implied := z.implied(); len(implied) > 0 {
		names := make([]string, len(implied))
		for i, o := range implied {
			names[i] = offsetName(o)
		}
		msg += "; it implies the offset " + strings.Join(names, " or ")
	}
	return msg
}

// implied returns the offsets the segment's end fits on its own, at most
// two: those of the shortest windows.
func (z zoneSegment) implied() []time.Duration {
	var out []time.Duration
	for _, o := range z.candidates() {
		if z.fits(fixedZone(o)) {
			out = append(out, o)
			if len(out) == 2 {
				break
			}
		}
	}
	return out
}

// candidates returns the offsets, in ascending order, at which the
// segment's end lies on its unit's grid.
func (z zoneSegment) candidates() []time.Duration {
	e := z.end.UTC()
	var since time.Duration
	if z.unit == time.Hour {
		since = e.Sub(e.Truncate(time.Hour))
	} else {
		since = e.Sub(time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC))
	}
	o := -since
	for o-z.unit >= minOffset {
		o -= z.unit
	}
	var out []time.Duration
	for ; o <= maxOffset; o += z.unit {
		if o >= minOffset {
			out = append(out, o)
		}
	}
	return out
}

// fittingOffsets returns the fixed offsets, ascending, that fit every
// segment. zs must not be empty.
func fittingOffsets(zs []zoneSegment) []time.Duration {
	gen := zs[0]
	for _, z := range zs[1:] {
		if z.unit > gen.unit {
			gen = z // a day's grid leaves the fewest candidates
		}
	}
	var out []time.Duration
	for _, o := range gen.candidates() {
		if misfit(zs, fixedZone(o)) == nil {
			out = append(out, o)
		}
	}
	return out
}

// settled picks the server's offset from those that fit: the only one, or
// the largest when some segment then ends exactly where its group's next
// one starts (a larger offset would make such a segment overlap the next).
func settled(zs []zoneSegment, fits []time.Duration) (time.Duration, bool) {
	switch len(fits) {
	case 0:
		return 0, false
	case 1:
		return fits[0], true
	}
	top := fits[len(fits)-1]
	loc := fixedZone(top)
	for _, z := range zs {
		if z.contiguous(loc) {
			return top, true
		}
	}
	return 0, false
}

// agrees reports whether loc has offset off at every segment's end.
func agrees(zs []zoneSegment, loc *time.Location, off time.Duration) bool {
	for _, z := range zs {
		if _, o := z.end.In(loc).Zone(); time.Duration(o)*time.Second != off {
			return false
		}
	}
	return true
}

// misfit returns the first segment whose end does not fit loc, or nil.
func misfit(zs []zoneSegment, loc *time.Location) *zoneSegment {
	for i := range zs {
		if !zs[i].fits(loc) {
			return &zs[i]
		}
	}
	return nil
}

// fixedZone is the zone of a fixed offset, named as ParseZone reads it;
// offset 0 is UTC.
func fixedZone(off time.Duration) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone(offsetName(off), int(off/time.Second))
}

// offsetName writes an offset as UTC+08:00, UTC-05:30 or UTC+00:00.
func offsetName(off time.Duration) string {
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, int(off/time.Hour), int(off%time.Hour/time.Minute))
}

// ZoneName names loc so that ParseZone reads it back, on another machine
// too: the local zone by its IANA name (from TZ or /etc/localtime) when it
// can be found, else by its current offset.
func ZoneName(loc *time.Location) string {
	if loc != nil && loc != time.Local {
		return loc.String()
	}
	if name := localZoneName(); name != "" {
		return name
	}
	_, off := time.Now().Zone()
	return offsetName(time.Duration(off) * time.Second)
}

// localZoneName finds the IANA name of the local zone: $TZ, else the
// target of /etc/localtime; "" when neither names one that loads.
func localZoneName() string {
	if tz, ok := os.LookupEnv("TZ"); ok {
		tz = strings.TrimPrefix(tz, ":")
		if tz == "" {
			return "UTC"
		}
		if _, err := time.LoadLocation(tz); err == nil {
			return tz
		}
		return ""
	}
	target, err := os.Readlink("/etc/localtime")
	if err != nil {
		return ""
	}
	_, name, ok := strings.Cut(filepath.ToSlash(target), "zoneinfo/")
	if !ok {
		return ""
	}
	if _, err := time.LoadLocation(name); err != nil {
		return ""
	}
	return name
}

// ParseZone reads a zone: an IANA name (Asia/Shanghai), UTC, Local, or a
// fixed offset (UTC+08:00, UTC-05:30, UTC+8). "" returns nil: learn it.
func ParseZone(s string) (*time.Location, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if off, ok := strings.CutPrefix(s, "UTC"); ok && off != "" && (off[0] == '+' || off[0] == '-') {
		d, err := parseOffset(off)
		if err != nil {
			return nil, fmt.Errorf("cannot parse time zone %q: %w", s, err)
		}
		return fixedZone(d), nil
	}
	loc, err := time.LoadLocation(s)
	if err != nil {
		return nil, fmt.Errorf("cannot parse time zone %q: %w", s, err)
	}
	return loc, nil
}

// parseOffset parses +08:00, -05:30 or +8.
func parseOffset(s string) (time.Duration, error) {
	sign := time.Duration(1)
	if s[0] == '-' {
		sign = -1
	}
	hh, mm, _ := strings.Cut(s[1:], ":")
	h, err := strconv.Atoi(hh)
	if err != nil || !allDigits(hh) {
		return 0, fmt.Errorf("want an offset such as +08:00")
	}
	m := 0
	if mm != "" {
		if m, err = strconv.Atoi(mm); err != nil || !allDigits(mm) || m >= 60 {
			return 0, fmt.Errorf("want an offset such as +08:00")
		}
	}
	d := sign * (time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	if d < minOffset || d > maxOffset {
		return 0, fmt.Errorf("offset beyond %s to %s", offsetName(minOffset), offsetName(maxOffset))
	}
	return d, nil
}
