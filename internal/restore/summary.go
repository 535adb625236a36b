package restore

import (
	"sort"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Result says what a restore did, or for a dry run what it would do.
type Result struct {
	Backup      string      `json:"backup"`
	DryRun      bool        `json:"dry_run,omitempty"`
	Targets     []string    `json:"targets"`
	Granularity Granularity `json:"granularity"`
	From        *time.Time  `json:"from,omitempty"`
	To          *time.Time  `json:"to,omitempty"`
	Verify      VerifyMode  `json:"verify"`
	// ServerZone is the zone dates and segment names were read in, and
	// how it was chosen (absent when Options.Location was not set).
	ServerZone *repository.ZoneRecord `json:"server_zone,omitempty"`
	Units      []UnitPlan             `json:"units"`
	Refused    []Refusal              `json:"refused,omitempty"`
	Conflicts  []Conflict             `json:"conflicts,omitempty"`
	// Versions lists the segment format versions restored, per catalog.
	Versions     map[banyandb.Catalog][]string `json:"versions,omitempty"`
	Groups       int                           `json:"groups"`
	Segments     int                           `json:"segments"`
	Parts        int                           `json:"parts"`
	Files        int64                         `json:"files"`
	Dirs         int64                         `json:"dirs"`
	Bytes        int64                         `json:"bytes"`
	FilesResumed int64                         `json:"files_resumed"`
	// SnpWritten counts the shards given a new part list (--granularity
	// part, or a shard whose backup lacks parts: Lacking).
	SnpWritten int `json:"snp_written"`
	// Lacking lists, per catalog and group restored, the parts the backup
	// could not contain: the live backup's snapshot listed them, but the
	// node held them in memory, not flushed (docs/banyandb.md, Snapshots).
	// Their rows are not restored, and their shards got a new .snp that
	// does not list them.
	Lacking         []LackingGroup `json:"lacking_parts,omitempty"`
	DurationSeconds float64        `json:"duration_seconds"`
	// Check is what `check` says of the restored roots: whether a node
	// started on them would load them cleanly. Nil for a dry run.
	Check *banyandb.CheckReport `json:"check,omitempty"`
}

// UnitPlan is one segment, group or file of the restore.
type UnitPlan struct {
	Catalog banyandb.Catalog `json:"catalog"`
	Group   string           `json:"group,omitempty"`
	Path    string           `json:"path"` // below the catalog's data directory
	Target  string           `json:"target"`
	Segment bool             `json:"segment,omitempty"`
	Start   *time.Time       `json:"start,omitempty"`
	End     *time.Time       `json:"end,omitempty"`
	Version string           `json:"version,omitempty"`
	Parts   int              `json:"parts"`
	Files   int              `json:"files"`
	Bytes   int64            `json:"bytes"`
	// Action is "restore", "replace" (--overwrite) or "skip" (--merge: the
	// target has it).
	Action string `json:"action"`
}

// LackingGroup is what the backup could not contain of one group.
type LackingGroup struct {
	Catalog banyandb.Catalog `json:"catalog"`
	Group   string           `json:"group"`
	// Count is the number of parts.
	Count int `json:"count"`
	// Parts name them below the group: <segment>/shard-<N>/<part>.
	Parts []string `json:"parts"`
}

// Refusal is a catalog left out because the target release cannot use it.
type Refusal struct {
	Catalog banyandb.Catalog `json:"catalog"`
	Reason  string           `json:"reason"`
}

// summarize fills the result's plan fields.
func (res *Result) summarize(p *plan, roots banyandb.Roots, sel Selection, skipped []*unit) {
	res.Granularity = sel.Granularity
	if res.Granularity == "" {
		res.Granularity = BySegment
	}
	if !sel.From.IsZero() {
		res.From = &sel.From
	}
	if !sel.To.IsZero() {
		res.To = &sel.To
	}
	groups := map[string]bool{}
	versions := map[banyandb.Catalog]map[string]bool{}
	for _, u := range append(append([]*unit{}, p.units...), skipped...) {
		up := UnitPlan{Catalog: u.cat, Group: u.group, Path: u.rel, Target: targetPathIn(roots, u.cat, u.rel),
			Parts: u.parts, Files: u.files, Bytes: u.bytes, Action: u.action}
		if u.segment != nil {
			up.Segment = true
			start, end := u.segment.Start, u.segment.End
			up.Start, up.End, up.Version = &start, &end, u.segment.Version
			if u.action != "skip" {
				res.Segments++
				if versions[u.cat] == nil {
					versions[u.cat] = map[string]bool{}
				}
				versions[u.cat][u.segment.Version] = true
			}
		}
		if u.action != "skip" && u.group != "" {
			groups[string(u.cat)+"/"+u.group] = true
		}
		res.Units = append(res.Units, up)
	}
	sort.SliceStable(res.Units, func(i, j int) bool {
		a, b := res.Units[i], res.Units[j]
		if a.Catalog != b.Catalog {
			return a.Catalog < b.Catalog
		}
		return a.Path < b.Path
	})
	res.Groups = len(groups)
	res.Versions = map[banyandb.Catalog][]string{}
	for c, vs := range versions {
		for v := range vs {
			res.Versions[c] = append(res.Versions[c], v)
		}
		sort.Strings(res.Versions[c])
	}
	res.Parts = p.parts
	res.Files = int64(len(p.files))
	res.Dirs = int64(len(p.dirs))
	res.Bytes = p.bytes
	for _, f := range p.files {
		if f.generated {
			res.SnpWritten++
		}
	}
	res.Lacking = lackingGroups(p)
}

// lackingGroups counts the lacking parts of the shards the plan restores,
// per catalog and group, in plan order.
func lackingGroups(p *plan) []LackingGroup {
	restored := map[*unit]bool{}
	for _, u := range p.units {
		restored[u] = true
	}
	var out []LackingGroup
	at := map[string]int{}
	for _, l := range p.lacking {
		if !restored[l.unit] {
			continue
		}
		key := string(l.unit.cat) + "/" + l.unit.group
		i, ok := at[key]
		if !ok {
			i = len(out)
			at[key] = i
			out = append(out, LackingGroup{Catalog: l.unit.cat, Group: l.unit.group})
		}
		_, below := cutGroup(l.shard)
		for _, part := range l.parts {
			out[i].Parts = append(out[i].Parts, below+"/"+part)
		}
		out[i].Count += len(l.parts)
	}
	return out
}

// cutGroup splits a shard path <catalog>/<group>/<segment>/shard-N into
// <catalog>/<group> and <segment>/shard-N.
func cutGroup(shard string) (group, below string) {
	elems := strings.SplitN(shard, "/", 3)
	if len(elems) < 3 {
		return shard, ""
	}
	return elems[0] + "/" + elems[1], elems[2]
}

func targetPathIn(roots banyandb.Roots, c banyandb.Catalog, rel string) string {
	return roots.DataDir(c) + "/" + rel
}
