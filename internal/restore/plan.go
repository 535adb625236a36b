package restore

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// A unit is what a restore adds, skips or replaces as a whole in a target
// that already holds data: a segment of a measure, stream or trace group, a
// property group, the schema group, or a loose file.
type unit struct {
	cat     banyandb.Catalog
	rel     string // below the catalog's data directory, slash-separated
	group   string
	segment *repository.SegmentInfo // nil but for segments
	parts   int
	files   int
	bytes   int64
	// action is filled in by the target check: "restore", "skip" (merge:
	// the target has it) or "replace" (overwrite).
	action string
	// inPlace: an interrupted restore of the same backup already moved
	// it into the target.
	inPlace bool
}

type planFile struct {
	cat  banyandb.Catalog
	rel  string // below the catalog's data directory, slash-separated
	unit *unit
	node repository.Node
	// data is the content of a file the restore writes itself (a shard's
	// new .snp); nil for files read from the repository.
	data      []byte
	generated bool
	// shard and part place the file for part selection: the shard's path
	// and the part directory it is in, if any.
	shard, part string
	snpEpoch    uint64 // for a shard's .snp files, with isSnp
	isSnp       bool
	dst         string // where it is staged, set by Run
	// done: an interrupted restore of the same backup staged it already.
	done bool
}

type planDir struct {
	cat         banyandb.Catalog
	rel         string
	unit        *unit // nil for the catalog and group levels
	mode        fs.FileMode
	mtime       time.Time
	shard, part string
	isPart      bool                 // the part directory itself
	partInfo    *repository.PartInfo // its metadata.json, when isPart
	owner       banyandb.Owner
	dst         string
	staging     string // the staging directory dst is below, set with dst
}

type plan struct {
	dirs  []planDir
	files []planFile
	units []*unit
	bytes int64
	parts int
	// lacking are the restored shards whose newest .snp in the backup
	// lists parts the backup lacks (a live backup's parts in memory).
	lacking []lackingShard
}

// lackingShard is one shard of the plan and the parts its .snp in the
// backup lists but the backup lacks.
type lackingShard struct {
	unit  *unit
	shard string // <catalog>/<group>/<segment>/shard-N
	parts []string
}

// unitDepth is the depth, in path elements below the tree's root, of a
// catalog's units: <catalog>/<group>/<segment> for segmented catalogs,
// <catalog>/<group> for property and schema.
func unitDepth(c banyandb.Catalog) int {
	if c.HasSegments() {
		return 3
	}
	return 2
}

// makePlan lists what to restore of backup b: the selected catalogs,
// groups, segments and parts, minus refused catalogs.
func makePlan(ctx context.Context, repo *repository.Repository, b repository.Backup, sel Selection, refused map[banyandb.Catalog]string) (*plan, error) {
	p := &plan{}
	var cur *unit
	var skeleton []planDir
	err := repo.Walk(ctx, b.Tree, func(path string, n *repository.Node) error {
		elems := strings.Split(path, "/")
		cat := banyandb.Catalog(elems[0])
		depth := len(elems)
		if depth == 1 {
			if !cat.Valid() || !sel.IncludesCatalog(cat) || refused[cat] != "" {
				return repository.SkipDir
			}
		}
		rel := strings.Join(elems[1:], "/")
		ud := unitDepth(cat)
		switch {
		case depth == 2 && n.Type == repository.NodeDir && !sel.group(cat, elems[1]):
			return repository.SkipDir
		case depth < ud && n.Type == repository.NodeDir:
			skeleton = append(skeleton, planDir{cat: cat, rel: rel, mode: n.Mode, mtime: n.ModTime, owner: banyandb.Owner{UID: n.UID, GID: n.GID}})
			return nil
		case depth <= ud:
			if !selectUnit(sel, cat, elems, n) {
				return repository.SkipDir
			}
			cur = &unit{cat: cat, rel: rel, segment: sel.window(n.Name, n.Segment)}
			if depth >= 2 {
				cur.group = elems[1]
			}
			p.units = append(p.units, cur)
		}
		shard, part := placeInShard(cat, elems)
		if n.Type == repository.NodeDir {
			p.dirs = append(p.dirs, planDir{cat: cat, rel: rel, unit: cur, mode: n.Mode, mtime: n.ModTime, shard: shard, part: part, isPart: part != "" && depth == 5, partInfo: n.Part, owner: banyandb.Owner{UID: n.UID, GID: n.GID}})
			return nil
		}
		f := planFile{cat: cat, rel: rel, unit: cur, node: *n, shard: shard, part: part}
		if shard != "" && part == "" && depth == 5 {
			f.snpEpoch, f.isSnp = banyandb.SnpEpoch(n.Name)
		}
		p.files = append(p.files, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read backup %s: %w", b.ID.Short(), err)
	}
	lacking := lackingByShard(b.LackingParts)
	if b.Source.Type == "node" && b.LackingParts == nil && !(sel.Granularity == ByPart && sel.timed()) {
		// A live backup made before manifests recorded lacking parts.
		if lacking, err = deriveLacking(ctx, repo, p); err != nil {
			return nil, err
		}
	}
	p.noteLacking(lacking)
	switch {
	case sel.Granularity == ByPart && sel.timed():
		if err := selectParts(ctx, repo, p, sel); err != nil {
			return nil, err
		}
	case len(lacking) > 0:
		if err := dropLacking(ctx, repo, p, lacking); err != nil {
			return nil, err
		}
	}
	p.dirs = append(neededSkeleton(skeleton, p.units), p.dirs...)
	p.count()
	if len(p.units) == 0 || (sel.asksForData() && !p.hasData()) {
		return p, fmt.Errorf("%w: backup %s has no data for %s", ErrNothingSelected, b.ID.Short(), describe(sel))
	}
	return p, nil
}

// hasData reports whether the plan restores anything besides the schema.
func (p *plan) hasData() bool {
	for _, u := range p.units {
		if u.cat != banyandb.SchemaProperty {
			return true
		}
	}
	return false
}

// lackingByShard indexes a manifest's lacking parts by the shard's path in
// the backup's tree, <catalog>/<group>/<segment>/shard-N.
func lackingByShard(ls []repository.LackingParts) map[string][]string {
	out := map[string][]string{}
	for _, l := range ls {
		key := l.Catalog + "/" + l.ShardPath()
		out[key] = append(out[key], l.Parts...)
	}
	return out
}

// selectUnit decides on a unit (or a loose file above the unit level) by
// the selection's time window: segments by their window; a segment without
// recorded metadata is left out of a timed restore (a server would delete
// it anyway).
func selectUnit(sel Selection, cat banyandb.Catalog, elems []string, n *repository.Node) bool {
	if !cat.HasSegments() || len(elems) != 3 || !sel.timed() {
		return true
	}
	if !strings.HasPrefix(elems[2], banyandb.SegmentPrefix) || n.Type != repository.NodeDir {
		return true
	}
	w := sel.window(n.Name, n.Segment)
	return w != nil && sel.overlaps(w.Start, w.End)
}

// placeInShard returns, for a path inside a segment's shard, the shard's
// path and the part directory the path is in ("" when it is not in one).
// Trace ordered-index parts (shard-N/sidx/...) count as shard contents, not
// parts: they are restored with the shard.
func placeInShard(cat banyandb.Catalog, elems []string) (shard, part string) {
	if !cat.HasSegments() || len(elems) < 4 || !strings.HasPrefix(elems[3], "shard-") {
		return "", ""
	}
	shard = strings.Join(elems[:4], "/")
	if len(elems) >= 5 && banyandb.IsPartName(elems[4]) {
		part = elems[4]
	}
	return shard, part
}

// neededSkeleton keeps the catalog and group directories that hold a unit.
func neededSkeleton(dirs []planDir, units []*unit) []planDir {
	var keep []planDir
	for _, d := range dirs {
		for _, u := range units {
			if u.cat == d.cat && (d.rel == "" || strings.HasPrefix(u.rel, d.rel+"/")) {
				keep = append(keep, d)
				break
			}
		}
	}
	return keep
}

// count totals the plan's bytes and parts, per unit and in all.
func (p *plan) count() {
	p.bytes, p.parts = 0, 0
	for _, u := range p.units {
		u.files, u.bytes, u.parts = 0, 0, 0
	}
	for i := range p.files {
		f := &p.files[i]
		p.bytes += f.node.Size
		if f.unit != nil {
			f.unit.files++
			f.unit.bytes += f.node.Size
		}
	}
	for _, d := range p.dirs {
		if d.isPart {
			p.parts++
			d.unit.parts++
		}
	}
}

// targetPath maps a path below catalog c's data directory to its place
// below the catalog's root: <catalog>/data/<rel>.
func targetPath(c banyandb.Catalog, rel string) string {
	return filepath.Join(string(c), "data", filepath.FromSlash(rel))
}

// describe says what a selection asked for, for messages.
func describe(sel Selection) string {
	var what []string
	if len(sel.Catalogs) > 0 {
		cats := make([]string, len(sel.Catalogs))
		for i, c := range sel.Catalogs {
			cats[i] = string(c)
		}
		what = append(what, "catalogs "+strings.Join(cats, ", "))
	}
	if len(sel.Groups) > 0 {
		what = append(what, "groups "+strings.Join(sel.Groups, ", "))
	}
	if sel.timed() {
		what = append(what, "time window "+windowString(sel.From, sel.To))
	}
	if len(what) == 0 {
		return "the selection"
	}
	sort.Strings(what)
	return strings.Join(what, ", ")
}

func windowString(from, to time.Time) string {
	f, t := "the beginning", "the end"
	if !from.IsZero() {
		f = from.Format(time.RFC3339)
	}
	if !to.IsZero() {
		t = to.Format(time.RFC3339)
	}
	return f + " to " + t
}
