package compat

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// ErrIncompatible is wrapped by the error of Err when a catalog is refused.
var ErrIncompatible = errors.New("backup is incompatible with the target release")

// Input is what a backup holds, as far as versions go.
type Input struct {
	// Catalogs in the backup.
	Catalogs []banyandb.Catalog
	// SegmentVersions lists, per catalog, the segment formats of its
	// backed-up segments (missing formats left out), e.g. "1.4.0".
	SegmentVersions map[banyandb.Catalog][]string
	// APIVersion is what the node answered to GetAPIVersion ("" for a
	// backup of a data root). It names the oldest line the server can be:
	// the 0.11 development server of the fixtures still answers "0.10"
	// (fixtures records/api-version.json).
	APIVersion string
	// ToolVersion is the banyan-backup release that took the backup; it is
	// reported, not used in decisions.
	ToolVersion string
}

// FromManifest collects the Input of a backup from its manifest.
func FromManifest(m *repository.Manifest) Input {
	in := Input{APIVersion: m.Source.APIVersion, ToolVersion: m.ToolVersion, SegmentVersions: map[banyandb.Catalog][]string{}}
	for _, c := range m.Catalogs {
		in.Catalogs = append(in.Catalogs, banyandb.Catalog(c))
	}
	for c, vs := range SegmentVersions(m.Segments) {
		in.SegmentVersions[banyandb.Catalog(c)] = vs
	}
	return in
}

// SegmentVersions returns, per catalog, the distinct segment formats of the
// records, sorted; a record without a format is left out.
func SegmentVersions(segs []repository.SegmentRecord) map[string][]string {
	out := map[string][]string{}
	for _, s := range segs {
		if s.Version != "" && !contains(out[s.Catalog], s.Version) {
			out[s.Catalog] = append(out[s.Catalog], s.Version)
		}
	}
	for c := range out {
		sort.Slice(out[c], func(i, j int) bool { return compareVersions(out[c][i], out[c][j]) < 0 })
	}
	return out
}

// Options tune Decide.
type Options struct {
	// AllowIncompatible allows the refusals that a server survives: the
	// known-broken pairs, a rollback of data a server can still open, and
	// data that a newer line may have written but that the target's own
	// release may equally have written (1.5.0 into 0.10.3: only right for a
	// backup of a 0.10.3 server). Segment formats the target does not open,
	// and schemas known to be newer, stay refused.
	AllowIncompatible bool
}

// Decision says whether one catalog of a backup may be restored.
type Decision struct {
	Catalog banyandb.Catalog `json:"catalog"`
	Allowed bool             `json:"allowed"`
	// Overridden is set when AllowIncompatible allowed a refusal; Reason
	// still says why it was refused.
	Overridden bool `json:"overridden,omitempty"`
	// Overridable says whether AllowIncompatible would allow a refusal.
	Overridable bool   `json:"overridable,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Hint        string `json:"hint,omitempty"`
}

// Decide returns one Decision per catalog of the backup, in the order of
// in.Catalogs. A catalog is allowed when every release the target stands
// for opens its segment formats, the backup was not written by a newer
// release nor may have been by a newer line (0.11 data goes to no 0.10.x,
// docs/banyandb.md, Versions), the target is at most one release line newer
// (same section), and no known-broken pair applies (fixtures README). The zero Target refuses
// every catalog: a caller without a target release should not call Decide.
func Decide(in Input, t Target, opts Options) []Decision {
	src := sourceOf(in)
	out := make([]Decision, 0, len(in.Catalogs))
	for _, c := range in.Catalogs {
		d := Decision{Catalog: c, Allowed: true}
		if len(t.rows) == 0 {
			out = append(out, Decision{Catalog: c, Reason: "the target's BanyanDB release is not known",
				Hint: "give --target-version, e.g. 0.11 or 0.10.2"})
			continue
		}
		var passed []string
		for _, row := range t.rows {
			r := decideRow(c, in.SegmentVersions[c], src, row)
			if r.Allowed {
				passed = append(passed, releases[row].name)
				continue
			}
			if d.Allowed || (d.Overridable && !r.Overridable) {
				d = r
			}
		}
		if !d.Allowed && len(passed) > 0 {
			d.Hint += fmt.Sprintf("; BanyanDB %s accepts it: give --target-version %s if the target runs that release",
				strings.Join(passed, ", "), passed[len(passed)-1])
		}
		if !d.Allowed && d.Overridable && opts.AllowIncompatible {
			d.Allowed, d.Overridden = true, true
		}
		out = append(out, d)
	}
	return out
}

// Refusals turns decisions into the catalogs a restore leaves out, with
// the reason and what to do. When nothing usable would remain (every data
// catalog refused, or the schema refused: the data needs it), it returns
// Err's error instead, refusing the whole restore.
func Refusals(ds []Decision, t Target) (map[banyandb.Catalog]string, error) {
	refused := map[banyandb.Catalog]string{}
	data, schemaRefused := 0, false
	for _, d := range ds {
		switch {
		case !d.Allowed:
			refused[d.Catalog] = strings.TrimSpace(d.Reason + " (" + d.Hint + ")")
			schemaRefused = schemaRefused || d.Catalog == banyandb.SchemaProperty
		case d.Catalog != banyandb.SchemaProperty:
			data++
		}
	}
	if len(refused) > 0 && (data == 0 || schemaRefused) {
		return nil, Err(ds, t)
	}
	return refused, nil
}

// Err returns nil when every decision allows its catalog, else an error
// wrapping ErrIncompatible that names each refused catalog with its reason
// and hint.
// Catalogs refused for the same reason are named together, and each hint is
// given once.
func Err(ds []Decision, t Target) error {
	var reasons, hints []string
	cats := map[string][]string{}
	for _, d := range ds {
		if d.Allowed {
			continue
		}
		if _, ok := cats[d.Reason]; !ok {
			reasons = append(reasons, d.Reason)
		}
		cats[d.Reason] = append(cats[d.Reason], string(d.Catalog))
		if d.Hint != "" && !slices.Contains(hints, d.Hint) {
			hints = append(hints, d.Hint)
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	msgs := make([]string, 0, len(reasons))
	for _, r := range reasons {
		msgs = append(msgs, strings.Join(cats[r], ", ")+": "+r)
	}
	todo := ""
	if len(hints) > 0 {
		todo = "; what to do: " + strings.Join(hints, "; ")
	}
	return fmt.Errorf("%w: cannot restore into %s: %s%s", ErrIncompatible, t, strings.Join(msgs, "; "), todo)
}

// source is what the backup says of the release that wrote it.
type source struct {
	// minRow is the oldest row that can have written the backup (from its
	// newest segment format and its API version); -1 when unknown,
	// len(releases) when newer than the table.
	minRow int
	// maxRow is the newest row that can have written the backup: the last
	// row writing its newest segment format, or minRow when that is newer.
	// A segment format can be written by releases of two lines (1.5.0: 0.10.3
	// and 0.11), and the API version does not tell them apart (the 0.11
	// development server answers "0.10"), so rows from minRow to maxRow are
	// all possible. -1 when unknown (no segment format recorded).
	maxRow int
	// maxLine is the newest line that wrote its oldest segment format; -1
	// when unknown.
	maxLine int
	desc    string
}

func sourceOf(in Input) source {
	s := source{minRow: -1, maxRow: -1, maxLine: -1}
	var all []string
	for _, vs := range in.SegmentVersions {
		for _, v := range vs {
			if len(writers(v)) > 0 && !contains(all, v) {
				all = append(all, v)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool { return compareVersions(all[i], all[j]) < 0 })
	var descs []string
	if len(all) > 0 {
		newest, oldest := writers(all[len(all)-1]), writers(all[0])
		s.minRow, s.maxRow = newest[0], newest[len(newest)-1]
		s.maxLine = lineOf(releases[oldest[len(oldest)-1]])
		descs = append(descs, "segment format "+strings.Join(all, ", "))
	}
	if in.APIVersion != "" {
		descs = append(descs, "API version "+in.APIVersion)
		if t, err := ParseTarget(in.APIVersion); err == nil {
			s.minRow = max(s.minRow, t.rows[0])
		} else if compareVersions(strings.TrimPrefix(in.APIVersion, "v"), releases[len(releases)-1].name) > 0 {
			s.minRow = len(releases)
		}
		if s.maxRow >= 0 || s.minRow == len(releases) {
			s.maxRow = max(s.maxRow, s.minRow)
		}
	}
	s.desc = strings.Join(descs, ", ")
	if s.desc == "" {
		s.desc = "no recorded BanyanDB version"
	}
	return s
}

// home names where the backup can go whichever release wrote it: the
// newest release that may have written it, "or newer".
func (s source) home() string {
	if s.maxRow < 0 || s.maxRow >= len(releases) {
		return "the release that wrote it"
	}
	return "BanyanDB " + releases[s.maxRow].name + " or newer"
}

// mayBeNewer reports whether a release of a line newer than row r may have
// written the backup, though the oldest possible writer is not newer than r.
func (s source) mayBeNewer(r int) bool {
	return s.minRow <= r && s.maxRow > r && s.maxRow < len(releases) && lineOf(releases[s.maxRow]) > lineOf(releases[r])
}

// decideRow decides catalog c, whose segments have formats vs, for one row
// of the target.
func decideRow(c banyandb.Catalog, vs []string, src source, row int) Decision {
	r := releases[row]
	refuse := func(overridable bool, reason, hint string) Decision {
		return Decision{Catalog: c, Overridable: overridable, Reason: reason, Hint: hint}
	}
	for _, v := range vs {
		if len(writers(v)) == 0 {
			return refuse(false, fmt.Sprintf("the backup's %s segments have format %s, unknown to this banyan-backup (it knows %s)",
				c, v, strings.Join(banyandb.KnownSegmentVersions(), ", ")), "upgrade banyan-backup")
		}
	}
	for _, v := range vs {
		if r.acceptsFormat(v) {
			continue
		}
		reason := fmt.Sprintf("the backup's %s segments have format %s (written by BanyanDB %s), but BanyanDB %s opens only %s and refuses to start on others",
			c, v, writerNames(v), r.name, strings.Join(r.accepts, ", "))
		if compareVersions(v, r.writes) < 0 {
			return refuse(false, reason, fmt.Sprintf("restore into BanyanDB %s, the release that wrote it, then upgrade one release at a time to %s", writerNames(v), r.name))
		}
		return refuse(false, reason, fmt.Sprintf("restore into %s; to roll back to %s, restore a backup taken before the upgrade", newestWriter(v), r.name))
	}
	if src.minRow > row {
		newer := "a BanyanDB newer than this banyan-backup knows, going by its " + src.desc + ","
		if src.minRow < len(releases) {
			newer = fmt.Sprintf("BanyanDB %s or later, going by its %s,", releases[src.minRow].name, src.desc)
		}
		hint := fmt.Sprintf("restore into %s; to roll back to %s, restore a backup taken before the upgrade", src.home(), r.name)
		switch c {
		case banyandb.SchemaProperty:
			return refuse(false, fmt.Sprintf("the backup was written by %s newer than BanyanDB %s: %s", newer, r.name, schemaDowngradeReason(src, r)), hint)
		case banyandb.Property:
			return refuse(true, fmt.Sprintf("the backup was written by %s newer than BanyanDB %s: %s", newer, r.name, downgradePropertyReason),
				hint+"; --allow-incompatible restores it into a target that keeps its own schemas")
		}
		return refuse(true, fmt.Sprintf("the backup was written by %s newer than BanyanDB %s, and BanyanDB supports no rollback to an older release", newer, r.name),
			hint+"; --allow-incompatible restores it anyway")
	}
	if src.mayBeNewer(row) {
		// docs/banyandb.md, Versions: data written by 0.11 cannot go back
		// to any 0.10.x release, though 0.10.3 opens its segment format.
		maybe := fmt.Sprintf("the backup may have been written by BanyanDB %s, newer than BanyanDB %s: its %s fits BanyanDB %s alike, and nothing in the backup tells them apart "+
			"(the API version cannot: 0.11 development servers answer 0.10)",
			releases[src.maxRow].name, r.name, src.desc, rowNames(src.minRow, src.maxRow))
		hint := fmt.Sprintf("restore into %s; only if the backup was taken from a BanyanDB %s server, --allow-incompatible restores it", src.home(), rowNames(src.minRow, row))
		switch c {
		case banyandb.SchemaProperty:
			return refuse(true, maybe+"; "+schemaDowngradeReason(src, r), hint)
		case banyandb.Property:
			return refuse(true, maybe+"; "+downgradePropertyReason, hint)
		}
		return refuse(true, maybe+"; BanyanDB supports no rollback to an older release", hint)
	}
	if src.maxLine >= 0 && lineOf(r)-src.maxLine > 1 {
		return refuse(false, fmt.Sprintf("the backup holds %s, more than one release line older than BanyanDB %s; upgrades must go one release at a time", src.desc, r.name),
			"restore into the release that wrote it, then upgrade one release at a time")
	}
	for _, p := range brokenPairs {
		if p.catalog == c && p.targetMinor == r.minor && contains(vs, p.segment) {
			return refuse(true, p.reason, p.hint)
		}
	}
	return Decision{Catalog: c, Allowed: true}
}

// newestWriter names the newest release that writes segment format v, "or
// newer": the one that opens every backup of that format, whichever
// release wrote it.
func newestWriter(v string) string {
	w := writers(v)
	return "BanyanDB " + releases[w[len(w)-1]].name + " or newer"
}

// rowNames names the rows from first to last, e.g. "0.10.3 and 0.11".
func rowNames(first, last int) string {
	var names []string
	for i := max(first, 0); i <= last && i < len(releases); i++ {
		names = append(names, releases[i].name)
	}
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// writerNames names the releases that write segment format v.
func writerNames(v string) string {
	var names []string
	for _, i := range writers(v) {
		names = append(names, releases[i].name)
	}
	return strings.Join(names, " or ")
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
