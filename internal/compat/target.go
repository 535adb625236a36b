package compat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// ErrUnknownRelease is wrapped by the error of ParseTarget for a release the
// table does not know, and of TargetFromRoot for a root whose segment format
// it does not know.
var ErrUnknownRelease = errors.New("unknown BanyanDB release")

// Target is the release a backup is to be restored into. It may stand for
// several rows of the table ("0.10" is 0.10.0–0.10.2 and 0.10.3): a catalog
// is allowed only when every one of them accepts it.
type Target struct {
	// Name is the release as given or inferred, e.g. "0.11" or "0.10.2".
	Name string `json:"name"`
	// From says where it came from: "flag" or the data root's path.
	From string `json:"from"`
	rows []int
}

// Releases names the table's rows the target stands for, e.g.
// ["0.10.0–0.10.2", "0.10.3"].
func (t Target) Releases() []string {
	out := make([]string, 0, len(t.rows))
	for _, i := range t.rows {
		out = append(out, releases[i].name)
	}
	return out
}

// CheckRelease returns what banyandb.CheckRelease needs of the target: the
// segment formats that every release it stands for opens. The zero Target
// gives the zero Release, which accepts every known format.
func (t Target) CheckRelease() banyandb.Release {
	if len(t.rows) == 0 {
		return banyandb.Release{}
	}
	formats := []string{}
	for _, v := range releases[t.rows[0]].accepts {
		all := true
		for _, i := range t.rows[1:] {
			all = all && releases[i].acceptsFormat(v)
		}
		if all {
			formats = append(formats, v)
		}
	}
	return banyandb.Release{Name: t.Name, SegmentFormats: formats}
}

// String names the target for messages.
func (t Target) String() string {
	names := t.Releases()
	if len(names) == 1 && names[0] == t.Name {
		return "BanyanDB " + t.Name
	}
	return fmt.Sprintf("BanyanDB %s (%s)", t.Name, strings.Join(names, ", "))
}

// ParseTarget parses a --target-version value: a release line "0.11", a
// release "0.11.0" or "v0.10.2", optionally with a pre-release suffix
// ("0.11.0-dev"), which is ignored. A release the table does not know is an
// error wrapping ErrUnknownRelease, never a guess.
func ParseTarget(s string) (Target, error) {
	v := strings.TrimPrefix(strings.TrimSpace(s), "v")
	if i := strings.IndexAny(v, "-+"); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Target{}, fmt.Errorf("cannot parse target version %q: want a BanyanDB release such as 0.11, 0.10.2 or v0.10.2", s)
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || strings.TrimLeft(p, "0123456789") != "" {
			return Target{}, fmt.Errorf("cannot parse target version %q: want a BanyanDB release such as 0.11, 0.10.2 or v0.10.2", s)
		}
		nums[i] = n
	}
	patch := -1
	if len(nums) == 3 {
		patch = nums[2]
	}
	var rows []int
	for i, r := range releases {
		if r.major != nums[0] || r.minor != nums[1] {
			continue
		}
		if patch < 0 || (patch >= r.firstPatch && (r.lastPatch < 0 || patch <= r.lastPatch)) {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 {
		return Target{}, fmt.Errorf("%w: %q is not in banyan-backup's compatibility table (it knows %s); "+
			"give one of those, or upgrade banyan-backup if the target runs a newer release", ErrUnknownRelease, s, knownNames())
	}
	return Target{Name: v, From: "flag", rows: rows}, nil
}

func knownNames() string {
	names := make([]string, 0, len(releases))
	for _, r := range releases {
		names = append(names, r.name)
	}
	return strings.Join(names, ", ")
}

// TargetFromRoot infers the target release from the segment metadata files
// of an existing data root: the newest segment format found names the
// releases that write it (1.4.0: 0.10.0–0.10.2; 1.5.0: 0.10.3 and 0.11). A
// server upgraded since, which has not yet written a segment, is not seen:
// give --target-version then. ok is false when the root holds no segment with
// a readable metadata file (nothing to infer from, not an error). A format the
// table does not know is an error wrapping ErrUnknownRelease.
func TargetFromRoot(ctx context.Context, roots banyandb.Roots, opts banyandb.ScanOptions) (t Target, ok bool, err error) {
	opts.Catalogs = []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace}
	layout, err := banyandb.Scan(ctx, roots, opts)
	if errors.Is(err, banyandb.ErrNotRoot) {
		return Target{}, false, nil
	}
	if err != nil {
		return Target{}, false, fmt.Errorf("cannot read the target's release: %w", err)
	}
	newest := ""
	for _, s := range layout.Segments {
		if s.Version == "" {
			continue
		}
		if len(writers(s.Version)) == 0 {
			return Target{}, false, fmt.Errorf("%w: segment %s/%s of the target has format %s, unknown to this banyan-backup (it knows %s); upgrade banyan-backup",
				ErrUnknownRelease, s.Catalog, s.Path(), s.Version, strings.Join(banyandb.KnownSegmentVersions(), ", "))
		}
		if newest == "" || compareVersions(s.Version, newest) > 0 {
			newest = s.Version
		}
	}
	if newest == "" {
		return Target{}, false, nil
	}
	rows := writers(newest)
	names := make([]string, 0, len(rows))
	for _, i := range rows {
		names = append(names, releases[i].name)
	}
	name := strings.Join(names, " or ")
	where := roots.Root
	if where == "" {
		where = "the target's data roots"
	}
	return Target{Name: name, From: where + " (segment format " + newest + ")", rows: rows}, true, nil
}

// compareVersions compares two dotted versions numerically; a part that
// does not parse compares as 0.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}
