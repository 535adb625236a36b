package banyandb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// ErrCheckFailed is wrapped by the error of a command whose Check found
// errors: a server started on the data root would delete data, skip it or
// refuse to start.
var ErrCheckFailed = errors.New("data root would not load cleanly")

// knownSegmentVersions are the segment formats of every BanyanDB release
// (docs/banyandb.md, Versions): 0.7 wrote 1.1.0, 0.8 1.2.0, 0.9 1.3.0, 0.10.0–0.10.2 1.4.0,
// 0.10.3 and 0.11 1.5.0. Each release accepts only some of them; Check
// accepts them all, since it does not know which release will start, and
// CheckRelease only those of the release it is given.
var knownSegmentVersions = []string{"1.1.0", "1.2.0", "1.3.0", "1.4.0", "1.5.0"}

// KnownSegmentVersions returns the segment formats Check accepts, oldest
// first. The slice is new on every call.
func KnownSegmentVersions() []string {
	return append([]string(nil), knownSegmentVersions...)
}

// Severity says how bad an Issue is.
type Severity string

// The severities of an Issue: they follow what the server does to the data.
const (
	// SeverityError: a server started on the root would lose data (delete
	// it, or skip it so that its rows are not served) or refuse to start.
	SeverityError Severity = "error"
	// SeverityWarning: the server would clean something up or fall back,
	// and survives it without losing data; or the root lacks something a
	// node usually needs.
	SeverityWarning Severity = "warning"
)

// Action is what a BanyanDB server does on startup with what an Issue names
// (docs/banyandb.md, Server startup).
type Action string

// The actions of an Issue.
const (
	// ActionDelete: the server deletes the segment, part, directory or
	// .snp file.
	ActionDelete Action = "delete"
	// ActionSkip: the server skips a part that the winning .snp lists but
	// the shard lacks, without a word; its rows are not served.
	ActionSkip Action = "skip"
	// ActionFallBack: the server cannot load a .snp, deletes it and tries
	// the next older one.
	ActionFallBack Action = "fall back"
	// ActionEmpty: the server empties the shard (no .snp loads, or the
	// winning one lists no parts), or opens an index as empty.
	ActionEmpty Action = "empty"
	// ActionIgnore: the server never reads the file.
	ActionIgnore Action = "ignore"
	// ActionRefuseStart: the server stops with an error.
	ActionRefuseStart Action = "refuse to start"
	// ActionFailGroup: the server cannot open the group.
	ActionFailGroup Action = "fail group"
	// ActionNone: the server does nothing; the issue is advice.
	ActionNone Action = "none"
)

// Issue is one thing a BanyanDB server would do to the root on startup.
type Issue struct {
	Severity Severity `json:"severity"`
	// Action is what the server does; the message says it in words.
	Action  Action  `json:"action"`
	Catalog Catalog `json:"catalog"`
	Group   string  `json:"group,omitempty"`
	Segment string  `json:"segment,omitempty"`
	// Shard is -1 when the issue is not about one shard.
	Shard int `json:"shard"`
	// Path is the directory concerned (group, segment or shard), relative to
	// the catalog's data dir and slash separated; "" for the whole catalog.
	// The message names the part or file inside it.
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String formats the issue on one line: severity, catalog, path, message.
func (i Issue) String() string {
	if i.Path == "" {
		return fmt.Sprintf("%-7s %s: %s", i.Severity, i.Catalog, i.Message)
	}
	return fmt.Sprintf("%-7s %s %s: %s", i.Severity, i.Catalog, i.Path, i.Message)
}

// CheckReport is what Check found.
type CheckReport struct {
	// Catalogs whose data directory exists, in AllCatalogs order.
	Catalogs []Catalog `json:"catalogs"`
	// Groups, Segments and Shards count directories; Parts counts the part
	// directories of measure, stream and trace shards (not trace sidx parts).
	Groups   int `json:"groups"`
	Segments int `json:"segments"`
	Shards   int `json:"shards"`
	Parts    int `json:"parts"`
	// Issues are sorted by catalog, path, severity (errors first) and message.
	Issues []Issue `json:"issues"`
}

// Errors returns the number of issues of severity error.
func (r *CheckReport) Errors() int { return r.count(SeverityError) }

// Warnings returns the number of issues of severity warning.
func (r *CheckReport) Warnings() int { return r.count(SeverityWarning) }

func (r *CheckReport) count(s Severity) int {
	n := 0
	for _, i := range r.Issues {
		if i.Severity == s {
			n++
		}
	}
	return n
}

// failedPartsDir holds a shard's cluster sync leftovers; the server skips
// it (see shardSubdir).
const failedPartsDir = "failed-parts"

// schemaGroup is the group of schema-property that holds the schemas.
const schemaGroup = "_schema"

// Release is the BanyanDB release a check predicts, as far as the check
// needs it: the segment formats it opens (docs/banyandb.md, Versions).
type Release struct {
	// Name is how messages call it, e.g. "0.10.2".
	Name string
	// SegmentFormats are the segment formats it opens; a segment of any
	// other format stops it with an error (docs/banyandb.md, Server
	// startup).
	SegmentFormats []string
}

// Check is CheckRelease for any release: every segment format of
// KnownSegmentVersions is accepted.
func Check(ctx context.Context, roots Roots, opts ScanOptions) (*CheckReport, error) {
	return CheckRelease(ctx, roots, opts, Release{})
}

// CheckRelease predicts, offline, what a server of release rel does with a
// stopped node's data root when it starts, by the rules of docs/banyandb.md,
// Server startup, and reports every segment, shard, part or file it would
// delete, skip, fall back from or refuse to start on, each with its Action.
// The zero Release accepts every known segment format. It reads (via Scan)
// but never changes the root; it fails only when the root cannot be read,
// with an error wrapping ErrNotRoot when there is no catalog data directory.
//
// For measure, stream and trace: a seg-* directory with no metadata file, or
// named for 1970-01-01, is deleted; one whose metadata names a format rel
// does not open stops the server. In every shard, directories that are not
// parts (16 hex digits) nor known shard entries (stream idx/, trace sidx/,
// failed-parts/) are deleted. The .snp files are tried from the highest
// epoch down: one that cannot be read or parsed is deleted and the next
// older tried (a fallback), and the first that loads wins. Part directories
// the winner does not list are deleted; parts it lists that the shard lacks
// are skipped silently, so their rows are not served; parts without a valid
// metadata.json are deleted; a shard where no .snp loads, or whose winner
// lists no parts, is emptied. Trace sidx parts need a valid manifest.json.
// For property and schema-property, every shard should have a Bluge .snp,
// and a root without schema-property has no schemas.
//
// An Issue is an error when the server would lose data or refuse to start,
// and a warning when it survives what it does without losing data (a
// fallback to an older .snp that lists every part, a stray directory).
// opts.ReusePart is ignored.
func CheckRelease(ctx context.Context, roots Roots, opts ScanOptions, rel Release) (*CheckReport, error) {
	opts.ReusePart = nil     // every part's metadata.json must be read
	opts.PartDirsOnly = true // and nothing else of a part
	l, err := Scan(ctx, roots, opts)
	if err != nil {
		return nil, err
	}
	loc := l.Zone.Location
	if rel.SegmentFormats == nil {
		rel.SegmentFormats = knownSegmentVersions
	}
	c := &checker{ctx: ctx, roots: roots, loc: loc, release: rel, report: &CheckReport{Catalogs: l.Catalogs, Issues: []Issue{}}}
	c.index(l)
	if err := c.checkSegments(); err != nil {
		return nil, err
	}
	c.checkProperties()
	c.checkSchema(opts.Catalogs, l.Catalogs)
	c.sortIssues()
	return c.report, nil
}

// checker builds a CheckReport from a Layout.
type checker struct {
	ctx     context.Context
	roots   Roots
	loc     *time.Location
	release Release
	report  *CheckReport

	segments []*segState            // measure, stream and trace segments
	shards   map[string]*shardState // by dirKey
	props    []*propShard           // property and schema-property shards
	groups   map[string]bool        // by dirKey: every group directory
}

// segState is one seg-* directory.
type segState struct {
	catalog     Catalog
	group, name string
	shards      []*shardState
}

// path returns the segment directory relative to the data dir.
func (s *segState) path() string { return s.group + "/" + s.name }

// parts returns the number of part directories in the segment's shards.
func (s *segState) parts() int {
	n := 0
	for _, sh := range s.shards {
		n += len(sh.parts)
	}
	return n
}

// shardState is one shard-N directory of a segment.
type shardState struct {
	catalog        Catalog
	group, segment string
	num            int
	path           string
	parts          map[string]Part // own parts by name
	sidxParts      []Part
	snps           []string // names of <epoch>.snp files
	stray          []string // directories the server deletes
}

// propShard is one shard of property or schema-property.
type propShard struct {
	catalog Catalog
	group   string
	num     int
	path    string
	hasSnp  bool
}

// dirKey identifies a directory across catalogs.
func dirKey(c Catalog, rel string) string { return string(c) + ":" + rel }

// index sorts the Layout's directories, files and parts into segments and
// shards.
func (c *checker) index(l *Layout) {
	c.shards = map[string]*shardState{}
	c.groups = map[string]bool{}
	segs := map[string]*segState{}
	props := map[string]*propShard{}
	for _, d := range l.Dirs {
		p := strings.Split(d.Path, "/")
		if !d.Catalog.HasSegments() {
			c.indexPropertyDir(d.Catalog, p, props)
			continue
		}
		switch {
		case len(p) == 1:
			c.groups[dirKey(d.Catalog, d.Path)] = true
		case len(p) == 2 && strings.HasPrefix(p[1], SegmentPrefix):
			s := &segState{catalog: d.Catalog, group: p[0], name: p[1]}
			segs[dirKey(d.Catalog, d.Path)] = s
			c.segments = append(c.segments, s)
		case len(p) == 3:
			seg, ok := segs[dirKey(d.Catalog, p[0]+"/"+p[1])]
			n, isShard := shardNumber(p[2])
			if !ok || !isShard {
				continue
			}
			sh := &shardState{catalog: d.Catalog, group: p[0], segment: p[1], num: n, path: d.Path, parts: map[string]Part{}}
			seg.shards = append(seg.shards, sh)
			c.shards[dirKey(d.Catalog, d.Path)] = sh
		case len(p) == 4:
			sh, ok := c.shards[dirKey(d.Catalog, path.Dir(d.Path))]
			if ok && !IsPartName(p[3]) && !shardSubdir(d.Catalog, p[3]) {
				sh.stray = append(sh.stray, p[3])
			}
		}
	}
	for _, f := range l.Files {
		dir, name := path.Split(f.Path)
		dir = strings.TrimSuffix(dir, "/")
		if f.Kind == KindSnp {
			if sh, ok := c.shards[dirKey(f.Catalog, dir)]; ok {
				sh.snps = append(sh.snps, name)
			}
			continue
		}
		if ps, ok := props[dirKey(f.Catalog, dir)]; ok && strings.HasSuffix(name, snpSuffix) {
			ps.hasSnp = true
		}
	}
	for _, p := range l.Parts {
		elems := strings.Split(p.Path, "/")
		if len(elems) < 4 {
			continue
		}
		sh, ok := c.shards[dirKey(p.Catalog, strings.Join(elems[:3], "/"))]
		if !ok {
			continue
		}
		if p.Rule != "" {
			sh.sidxParts = append(sh.sidxParts, p)
		} else {
			sh.parts[p.Name] = p
			c.report.Parts++
		}
	}
	for _, s := range c.segments {
		sort.Slice(s.shards, func(i, j int) bool { return s.shards[i].num < s.shards[j].num })
	}
	c.report.Groups = len(c.groups)
	c.report.Segments = len(c.segments)
	c.report.Shards = len(c.shards) + len(c.props)
}

// indexPropertyDir notes the groups and shards of property and
// schema-property: <group>/shard-N, or shard-N before 0.10.
func (c *checker) indexPropertyDir(cat Catalog, p []string, props map[string]*propShard) {
	rel := strings.Join(p, "/")
	var ps *propShard
	switch n, isShard := shardNumber(p[len(p)-1]); {
	case len(p) == 1 && isShard:
		ps = &propShard{catalog: cat, num: n, path: rel}
	case len(p) == 1:
		c.groups[dirKey(cat, rel)] = true
		return
	case len(p) == 2 && isShard:
		ps = &propShard{catalog: cat, group: p[0], num: n, path: rel}
	default:
		return
	}
	props[dirKey(cat, rel)] = ps
	c.props = append(c.props, ps)
}

// shardSubdir reports whether name is a directory a shard of catalog c may
// hold besides its parts.
func shardSubdir(c Catalog, name string) bool {
	switch name {
	case failedPartsDir, externalTempDir:
		return true
	case streamIndexDir:
		return c == Stream
	case sidxDir:
		return c == Trace
	}
	return false
}

// add records an issue.
func (c *checker) add(sev Severity, act Action, cat Catalog, group, segment string, shard int, rel, format string, args ...any) {
	c.report.Issues = append(c.report.Issues, Issue{
		Severity: sev, Action: act, Catalog: cat, Group: group, Segment: segment, Shard: shard, Path: rel,
		Message: fmt.Sprintf(format, args...),
	})
}

// dataFile returns the absolute path of rel in catalog cat's data dir.
func (c *checker) dataFile(cat Catalog, rel string) string {
	return filepath.Join(c.roots.DataDir(cat), filepath.FromSlash(rel))
}

// checkSegments applies the segment, shard and part rules.
func (c *checker) checkSegments() error {
	c.checkSegmentUnits()
	for _, s := range c.segments {
		if err := c.ctx.Err(); err != nil {
			return err
		}
		if !c.checkSegment(s) {
			continue // the server would not load the segment's shards
		}
		for _, sh := range s.shards {
			if err := c.checkShard(sh); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSegmentUnits reports groups whose segment names mix days and hours:
// the server parses every name with the group's unit.
func (c *checker) checkSegmentUnits() {
	type key struct {
		c Catalog
		g string
	}
	lengths := map[key]map[int]bool{}
	for _, s := range c.segments {
		if _, _, err := ParseSegmentName(s.name, c.loc); err != nil {
			continue
		}
		k := key{s.catalog, s.group}
		if lengths[k] == nil {
			lengths[k] = map[int]bool{}
		}
		lengths[k][len(s.name)] = true
	}
	for k, l := range lengths {
		if len(l) > 1 {
			c.add(SeverityError, ActionFailGroup, k.c, k.g, "", -1, k.g,
				"group mixes daily and hourly segment names: the server parses all of them with the group's unit and would fail to open the group")
		}
	}
}

// checkSegment applies the segment rules of docs/banyandb.md, Server
// startup, and reports whether the server would go on to load the
// segment's shards.
func (c *checker) checkSegment(s *segState) bool {
	rel := s.path()
	issue := func(sev Severity, act Action, format string, args ...any) {
		c.add(sev, act, s.catalog, s.group, s.name, -1, rel, format, args...)
	}
	start, _, err := ParseSegmentName(s.name, c.loc)
	if err != nil {
		issue(SeverityError, ActionFailGroup, "%v: the server would fail to open group %s", err, s.group)
		return false
	}
	// The server removes such segments without loading them: an error only
	// when that loses parts.
	removed := SeverityWarning
	if s.parts() > 0 {
		removed = SeverityError
	}
	if start.Year() == 1970 && start.Month() == time.January && start.Day() == 1 {
		issue(removed, ActionDelete, "segment is named for 1970-01-01: the server deletes it (%s)", partCount(s.parts()))
		return false
	}
	b, err := ReadMetadataFile(c.dataFile(s.catalog, rel+"/"+segmentMetaFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		issue(removed, ActionDelete, "segment has no metadata file: the server deletes it (%s)", partCount(s.parts()))
		return false
	case err != nil:
		issue(SeverityError, ActionRefuseStart, "cannot read segment metadata (%v): the server would refuse to start", err)
		return true
	case len(b) == 0:
		issue(removed, ActionDelete, "segment metadata file is empty: the server deletes it (%s)", partCount(s.parts()))
		return false
	}
	version, _, _, err := ParseSegmentMetadata(b)
	if err != nil {
		issue(SeverityError, ActionRefuseStart, "%v: the server refuses to start", err)
		return true
	}
	if !slices.Contains(c.release.SegmentFormats, version) {
		issue(SeverityError, ActionRefuseStart, "segment format %s is not one %s opens (%s): the server refuses to start",
			version, c.release.describe(), strings.Join(c.release.SegmentFormats, ", "))
	}
	return true
}

// describe names the release in a message.
func (r Release) describe() string {
	if r.Name == "" {
		return "BanyanDB"
	}
	return "BanyanDB " + r.Name
}

// partCount says how many parts: "1 part", "2 parts".
func partCount(n int) string {
	if n == 1 {
		return "1 part"
	}
	return fmt.Sprintf("%d parts", n)
}

// checkProperties reports property and schema-property shards without a
// Bluge snapshot.
func (c *checker) checkProperties() {
	for _, ps := range c.props {
		if !ps.hasSnp {
			c.add(SeverityWarning, ActionEmpty, ps.catalog, ps.group, "", ps.num, ps.path,
				"shard has no Bluge .snp: the server would open it as an empty index")
		}
	}
}

// checkSchema warns when the schemas are missing: no schema-property catalog
// (unless the caller left it out) or no _schema group in it.
func (c *checker) checkSchema(asked, found []Catalog) {
	if len(asked) > 0 && !slices.Contains(asked, SchemaProperty) {
		return
	}
	if !slices.Contains(found, SchemaProperty) {
		c.add(SeverityWarning, ActionNone, SchemaProperty, "", "", -1, "",
			"no schema-property catalog: a node started on this root has no schemas unless they come from elsewhere")
		return
	}
	if !c.groups[dirKey(SchemaProperty, schemaGroup)] {
		c.add(SeverityWarning, ActionNone, SchemaProperty, "", "", -1, "",
			"no %s group: a node started on this root has no schemas unless they come from elsewhere", schemaGroup)
	}
}

// sortIssues orders the issues by catalog, path, severity (errors first)
// and message.
func (c *checker) sortIssues() {
	is := c.report.Issues
	sort.Slice(is, func(i, j int) bool {
		a, b := is[i], is[j]
		switch {
		case a.Catalog != b.Catalog:
			return a.Catalog.order() < b.Catalog.order()
		case a.Path != b.Path:
			return a.Path < b.Path
		case a.Severity != b.Severity:
			return a.Severity == SeverityError
		}
		return a.Message < b.Message
	})
}
