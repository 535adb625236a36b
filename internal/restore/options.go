package restore

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/progress"
)

// ErrTargetNotEmpty is returned when a target root holds data and neither
// merging nor overwriting was asked for.
var ErrTargetNotEmpty = errors.New("restore target is not empty")

// ErrTargetInUse is returned when a BanyanDB server holds a lock under a
// target root.
var ErrTargetInUse = errors.New("restore target is in use by a running BanyanDB node")

// ErrNothingSelected is returned when the selection matches nothing in the
// backup.
var ErrNothingSelected = errors.New("the selection matches nothing in the backup")

// Granularity says how a time window selects data.
type Granularity string

const (
	// BySegment restores whole segments whose window overlaps the time
	// window.
	BySegment Granularity = "segment"
	// ByPart restores, within those segments, only the parts whose
	// min/max timestamps overlap the window, and writes each shard a new
	// .snp listing exactly them.
	ByPart Granularity = "part"
)

// ParseGranularity parses "segment" or "part".
func ParseGranularity(s string) (Granularity, error) {
	switch g := Granularity(s); g {
	case BySegment, ByPart:
		return g, nil
	case "":
		return BySegment, nil
	}
	return "", fmt.Errorf("unknown granularity %q: want segment or part", s)
}

// VerifyMode says when the blobs a restore writes are read and hashed.
// Every mode hashes every blob it writes and checks every pack it reads
// against its id; a damaged one stops the restore before anything is moved
// into a target root.
type VerifyMode string

const (
	// VerifyWhileWriting, the default, reads each needed pack once, up to
	// its last needed blob: the writer hashes every blob as it stages it,
	// and a damaged blob removes what was staged before anything is moved
	// into place. Before writing, every blob must be indexed and every pack
	// present.
	VerifyWhileWriting VerifyMode = "while-writing"
	// VerifyPreRead first reads and hashes every needed pack, writing
	// nothing, then reads them again to write: a damaged repository is
	// found before the target root is touched at all (no marker, no
	// staging directory), at the cost of a second read.
	VerifyPreRead VerifyMode = "pre-read"
	// VerifyQuick is the older name of VerifyWhileWriting ("quick"), kept
	// for scripts and callers that spell it so.
	VerifyQuick = VerifyWhileWriting
)

// ParseVerifyMode parses while-writing (the default) or pre-read. The
// spellings of earlier releases are accepted: auto and quick mean
// while-writing, full means pre-read.
func ParseVerifyMode(s string) (VerifyMode, error) {
	switch s {
	case "", string(VerifyWhileWriting), "auto", "quick":
		return VerifyWhileWriting, nil
	case string(VerifyPreRead), "full":
		return VerifyPreRead, nil
	}
	return "", fmt.Errorf("unknown verify mode %q: want while-writing or pre-read", s)
}

// Owners says who owns the restored files and directories.
type Owners struct {
	// Keep gives each the owner the backup recorded (which needs root).
	Keep bool
	// Map, if set, gives every one this owner instead.
	Map *banyandb.Owner
}

// of is the owner to give a file the backup recorded as uid:gid; nil
// leaves it to the restoring user.
func (o Owners) of(uid, gid uint32) *banyandb.Owner {
	switch {
	case o.Map != nil:
		return o.Map
	case o.Keep:
		return &banyandb.Owner{UID: uid, GID: gid}
	}
	return nil
}

// ExistingPolicy says what to do with a target root that holds data.
type ExistingPolicy string

const (
	// RefuseExisting refuses a target root that holds anything.
	RefuseExisting ExistingPolicy = ""
	// Merge adds the segments and groups the target lacks and leaves the
	// ones it has (listed as conflicts).
	Merge ExistingPolicy = "merge"
	// Overwrite replaces the target's segments and groups that the
	// restore brings; everything else in the target stays.
	Overwrite ExistingPolicy = "overwrite"
)

// Selection says which part of a backup to restore. The zero value selects
// everything.
type Selection struct {
	// Catalogs to restore; empty means every catalog in the backup. The
	// schema catalog comes with any selection unless NoSchema.
	Catalogs []banyandb.Catalog
	// Groups to restore in measure, stream, trace and property; empty
	// means all.
	Groups []string
	// From and To bound the time window, both inclusive; a zero value is
	// unbounded.
	From, To    time.Time
	Granularity Granularity
	NoSchema    bool
	// Zone, when set, makes segment windows start at their names read in
	// this zone instead of at the starts the backup records (see ZoneFor).
	Zone *time.Location
}

// IncludesCatalog reports whether the selection restores catalog c.
func (s Selection) IncludesCatalog(c banyandb.Catalog) bool {
	if c == banyandb.SchemaProperty {
		return !s.NoSchema
	}
	return len(s.Catalogs) == 0 || slices.Contains(s.Catalogs, c)
}

func (s Selection) group(c banyandb.Catalog, g string) bool {
	return c == banyandb.SchemaProperty || len(s.Groups) == 0 || slices.Contains(s.Groups, g)
}

// asksForData reports whether the selection names data: groups, a time
// window or a catalog besides the schema. The schema alone, which comes
// with any selection, does not satisfy such a selection.
func (s Selection) asksForData() bool {
	if len(s.Groups) > 0 || s.timed() {
		return true
	}
	for _, c := range s.Catalogs {
		if c != banyandb.SchemaProperty {
			return true
		}
	}
	return false
}

// timed reports whether a time window is set.
func (s Selection) timed() bool { return !s.From.IsZero() || !s.To.IsZero() }

// overlaps reports whether [start, end) meets the window [From, To].
func (s Selection) overlaps(start, end time.Time) bool {
	return (s.To.IsZero() || !start.After(s.To)) && (s.From.IsZero() || end.After(s.From))
}

// overlapsNanos reports whether the closed range [minNs, maxNs] meets the
// window.
func (s Selection) overlapsNanos(minNs, maxNs int64) bool {
	return (s.To.IsZero() || minNs <= s.To.UnixNano()) && (s.From.IsZero() || maxNs >= s.From.UnixNano())
}

// Options says where and how to restore.
type Options struct {
	// Roots are the target data roots: catalog C goes to
	// Roots.DataDir(C), by default <Root>/C/data.
	Roots     banyandb.Roots
	Selection Selection
	Existing  ExistingPolicy
	Verify    VerifyMode
	// Owners says who owns what is restored (zero: the restoring user).
	Owners Owners
	// DryRun plans and checks, and writes nothing.
	DryRun bool
	// Force restores even when a server holds a lock under a target root.
	Force bool
	// Refused names the catalogs that must not be restored, with the
	// reason (a release the data does not suit): they are left out of the
	// plan and listed in the result.
	Refused map[banyandb.Catalog]string
	// Workers writing files; 0 means GOMAXPROCS.
	Workers  int
	Progress progress.Reporter
	// Location is the server's time zone, for checking segment names; nil
	// means time.Local. ZoneSource says how it was chosen (ZoneFor), for
	// the result.
	Location   *time.Location
	ZoneSource banyandb.ZoneSource
	// stepHook, set by tests, is called after each step that changes a
	// target root or its staging directory; an error stops the restore
	// there, as a kill would.
	stepHook func(step string) error
}
