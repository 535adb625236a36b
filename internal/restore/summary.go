package restore

import (
	"sort"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
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
	Units       []UnitPlan  `json:"units"`
	Refused     []Refusal   `json:"refused,omitempty"`
	Conflicts   []Conflict  `json:"conflicts,omitempty"`
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
	// part).
	SnpWritten      int     `json:"snp_written"`
	DurationSeconds float64 `json:"duration_seconds"`
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
}

func targetPathIn(roots banyandb.Roots, c banyandb.Catalog, rel string) string {
	return roots.DataDir(c) + "/" + rel
}
