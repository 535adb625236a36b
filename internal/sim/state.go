package sim

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// Names in the data tree.
const (
	segmentMetaName = "metadata"
	sidxName        = "sidx"
	streamIdxName   = "idx"
	externalTemp    = "external-segment-temp"
	shardPrefix     = "shard-"
	blugePIDName    = "bluge.pid"
	tmpSuffix       = ".tmp"
	segmentVersion  = "1.5.0"
)

// fileSpec is one file of a part template: its name and the size it had in
// the part the template was taken from.
type fileSpec struct {
	name string
	size int64
}

// group is what the workload knows of a measure, stream or trace group.
type group struct {
	catalog banyandb.Catalog
	name    string
	dir     string
	unit    time.Duration // 24h (seg-YYYYMMDD) or 1h (seg-YYYYMMDDHH)
	shards  int
	files   []fileSpec            // part files but metadata.json
	rules   []string              // trace ordered index rules (shard-N/sidx/<rule>)
	ruleTpl map[string][]fileSpec // sidx part files but manifest.json, by rule
	segs    map[string]*segment   // by directory name
	write   bool
}

// segment is one segment directory of a group.
type segment struct {
	name       string
	start, end time.Time
	dir        string
	shards     map[int]*shard
}

// shard is one shard directory of a segment and its live part list.
type shard struct {
	dir   string
	epoch uint64   // epoch of the newest .snp; 0 when none
	parts []string // flushed live parts, as listed in the newest .snp
	next  uint64   // number of the next part
	// mem are the parts written since the last flush, still in memory:
	// named, but with no directory and in no live .snp until the next
	// flush. memEpoch is the epoch of the shard's in-memory part list that
	// holds them (above epoch when mem is not empty). A snapshot's .snp
	// lists them all the same (docs/banyandb.md, Snapshots).
	mem      []memPart
	memEpoch uint64
}

// memPart is a part still in memory: the rows of [minTS, maxTS].
type memPart struct {
	name         string
	minTS, maxTS time.Time
}

// memNames returns the names of the shard's parts in memory.
func (sh *shard) memNames() []string {
	out := make([]string, 0, len(sh.mem))
	for _, m := range sh.mem {
		out = append(out, m.name)
	}
	return out
}

// load reads every measure, stream and trace group of the data root, picks
// the groups that get writes and sets the simulated clock.
func (s *Server) load() error {
	if err := s.loadGroups(); err != nil {
		return err
	}
	if err := s.selectWriteGroups(); err != nil {
		return err
	}
	s.clock = s.startClock()
	s.stats.clock.Store(s.clock.UnixNano())
	return nil
}

// loadGroups reads every measure, stream and trace group of the data root.
func (s *Server) loadGroups() error {
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		dataDir := s.roots.DataDir(c)
		entries, err := os.ReadDir(dataDir)
		if err != nil {
			return fmt.Errorf("cannot list groups in %s: %w", dataDir, err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			g, err := s.loadGroup(c, e.Name(), filepath.Join(dataDir, e.Name()))
			if err != nil {
				return err
			}
			s.groups = append(s.groups, g)
		}
	}
	return nil
}

// schemaGroup returns the cluster schema's definition of a group; none on
// a standalone server.
func (s *Server) schemaGroup(name string) (GroupDef, bool) {
	if s.cfg.Cluster.Schema == nil {
		return GroupDef{}, false
	}
	return s.cfg.Cluster.Schema.Group(name)
}

// loadGroup reads one group directory.
func (s *Server) loadGroup(c banyandb.Catalog, name, dir string) (*group, error) {
	g := &group{catalog: c, name: name, dir: dir, unit: 24 * time.Hour, shards: 1,
		ruleTpl: map[string][]fileSpec{}, segs: map[string]*segment{}}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list segments in %s: %w", dir, err)
	}
	var newest *segment
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), banyandb.SegmentPrefix) {
			continue
		}
		start, unit, err := banyandb.ParseSegmentName(e.Name(), s.loc)
		if err != nil {
			continue // not a segment; the server would ignore or remove it
		}
		seg := &segment{name: e.Name(), start: start, end: windowEnd(start, unit),
			dir: filepath.Join(dir, e.Name()), shards: map[int]*shard{}}
		if b, err := os.ReadFile(filepath.Join(seg.dir, segmentMetaName)); err == nil {
			if _, end, hasEnd, err := banyandb.ParseSegmentMetadata(b); err == nil && hasEnd {
				seg.end = end
			}
		}
		if err := s.loadShards(g, seg); err != nil {
			return nil, err
		}
		g.segs[seg.name] = seg
		if newest == nil || seg.start.After(newest.start) {
			newest, g.unit = seg, unit
		}
	}
	if def, ok := s.schemaGroup(name); ok {
		g.unit, g.shards = def.unit(), def.Shards
		g.rules = append([]string(nil), def.IndexRules...)
	}
	s.loadTemplates(g)
	return g, nil
}

// loadShards reads the shards of seg and notes the group's shard count and
// trace index rules. A group of a cluster schema loads only the shards
// numbered below its shard count, whatever the placement says, as a data
// node does (docs/banyandb.md, Clusters); the others stay on disk.
func (s *Server) loadShards(g *group, seg *segment) error {
	entries, err := os.ReadDir(seg.dir)
	if err != nil {
		return fmt.Errorf("cannot list shards in %s: %w", seg.dir, err)
	}
	def, inSchema := s.schemaGroup(g.name)
	for _, e := range entries {
		n, ok := shardNumber(e.Name())
		if !e.IsDir() || !ok || (inSchema && n >= def.Shards) {
			continue
		}
		sh, err := loadShard(filepath.Join(seg.dir, e.Name()))
		if err != nil {
			return err
		}
		seg.shards[n] = sh
		s.shardDirs[sh.dir] = sh
		g.shards = max(g.shards, n+1)
		if g.catalog == banyandb.Trace {
			rules, _ := os.ReadDir(filepath.Join(sh.dir, sidxName))
			for _, r := range rules {
				if r.IsDir() && !slices.Contains(g.rules, r.Name()) {
					g.rules = append(g.rules, r.Name())
				}
			}
		}
	}
	sort.Strings(g.rules)
	return nil
}

// loadShard reads a shard's newest part list and its highest part number.
func loadShard(dir string) (*shard, error) {
	sh := &shard{dir: dir, parts: []string{}}
	name, epoch, parts, err := newestSnp(dir)
	if err != nil {
		return nil, err
	}
	if name != "" {
		sh.epoch, sh.parts = epoch, parts
	}
	highest := uint64(0)
	note := func(part string) {
		if v, err := strconv.ParseUint(part, 16, 64); err == nil && v > highest {
			highest = v
		}
	}
	for _, p := range sh.parts {
		note(p)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list parts in %s: %w", dir, err)
	}
	for _, e := range entries {
		if e.IsDir() && banyandb.IsPartName(e.Name()) {
			note(e.Name())
		}
	}
	rules, _ := os.ReadDir(filepath.Join(dir, sidxName))
	for _, r := range rules {
		parts, _ := os.ReadDir(filepath.Join(dir, sidxName, r.Name()))
		for _, p := range parts {
			if p.IsDir() && banyandb.IsPartName(p.Name()) {
				note(p.Name())
			}
		}
	}
	sh.next = highest + 1
	return sh, nil
}

// newestSnp finds the shard's .snp with the highest epoch that parses, as
// the server does on startup. name is "" when there is none.
func newestSnp(dir string) (name string, epoch uint64, parts []string, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "", 0, nil, fmt.Errorf("cannot list %s: %w", dir, err)
	}
	type snp struct {
		name  string
		epoch uint64
	}
	var snps []snp
	for _, e := range entries {
		if ep, ok := banyandb.SnpEpoch(e.Name()); ok && e.Type().IsRegular() {
			snps = append(snps, snp{e.Name(), ep})
		}
	}
	sort.Slice(snps, func(i, j int) bool { return snps[i].epoch > snps[j].epoch })
	for _, c := range snps {
		b, err := os.ReadFile(filepath.Join(dir, c.name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return "", 0, nil, fmt.Errorf("cannot read part list: %w", err)
		}
		if parts, err := banyandb.ParseSnp(b); err == nil {
			return c.name, c.epoch, parts, nil
		}
	}
	return "", 0, nil, nil
}

// loadTemplates takes the file names and sizes of new parts from the
// newest complete part of the group (and of its trace index parts), or
// from the catalog's defaults.
func (s *Server) loadTemplates(g *group) {
	segs := g.sortedSegments()
	for i := len(segs) - 1; i >= 0 && g.files == nil; i-- {
		for _, n := range sortedShardNumbers(segs[i]) {
			sh := segs[i].shards[n]
			for j := len(sh.parts) - 1; j >= 0 && g.files == nil; j-- {
				g.files = readTemplate(filepath.Join(sh.dir, sh.parts[j]), banyandb.PartMetadataFile)
			}
			for _, rule := range g.rules {
				if g.ruleTpl[rule] != nil {
					continue
				}
				parts, _ := os.ReadDir(filepath.Join(sh.dir, sidxName, rule))
				for _, p := range parts {
					if p.IsDir() && banyandb.IsPartName(p.Name()) {
						g.ruleTpl[rule] = readTemplate(filepath.Join(sh.dir, sidxName, rule, p.Name()), banyandb.SidxManifestFile)
						break
					}
				}
			}
		}
	}
	if g.files == nil {
		g.files = defaultTemplate(g.catalog)
	}
	for _, rule := range g.rules {
		if g.ruleTpl[rule] == nil {
			g.ruleTpl[rule] = defaultSidxTemplate()
		}
	}
}

// readTemplate lists the regular files of a part directory but marker (the
// part's commit marker); nil when the part is incomplete or unreadable.
func readTemplate(dir, marker string) []fileSpec {
	if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []fileSpec
	for _, e := range entries {
		if !e.Type().IsRegular() || e.Name() == marker {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil
		}
		out = append(out, fileSpec{e.Name(), info.Size()})
	}
	return out
}

// defaultTemplate is the file set of a new part of catalog c when the group
// has no part to copy it from (sizes from the 0.11 fixture).
func defaultTemplate(c banyandb.Catalog) []fileSpec {
	switch c {
	case banyandb.Stream:
		return []fileSpec{{"default.tf", 1500}, {"default.tff", 300}, {"default.tfm", 20}, {"meta.bin", 49},
			{"primary.bin", 150}, {"tag.type", 14}, {"timestamps.bin", 40}}
	case banyandb.Trace:
		return []fileSpec{{"meta.bin", 41}, {"primary.bin", 2150}, {"service_id.t", 2280}, {"service_id.tm", 833},
			{"spans.bin", 32928}, {"tag.type", 34}, {"traceID.filter", 261}}
	}
	return []fileSpec{{"default.tf", 1022}, {"default.tfm", 17}, {"fv.bin", 608}, {"meta.bin", 49},
		{"primary.bin", 118}, {"tag.type", 14}, {"timestamps.bin", 14}}
}

// defaultSidxTemplate is the file set of a new trace index part.
func defaultSidxTemplate() []fileSpec {
	return []fileSpec{{"data.bin", 1000}, {"keys.bin", 355}, {"meta.bin", 39}, {"primary.bin", 131}}
}

// selectWriteGroups marks the groups named in the workload's WriteGroups,
// or all when it is nil.
func (s *Server) selectWriteGroups() error {
	if s.cfg.Workload.WriteGroups == nil {
		for _, g := range s.groups {
			g.write = true
		}
		return nil
	}
	for _, want := range s.cfg.Workload.WriteGroups {
		want = strings.TrimSpace(want)
		if want == "" {
			continue
		}
		cat, name, hasCat := strings.Cut(want, "/")
		if !hasCat {
			cat, name = "", want
		}
		found := false
		for _, g := range s.groups {
			if g.name == name && (cat == "" || string(g.catalog) == strings.ToLower(cat)) {
				g.write, found = true, true
			}
		}
		if !found {
			return fmt.Errorf("cannot select write group %q: no such measure, stream or trace group under %s", want, s.cfg.Root)
		}
	}
	return nil
}

// startClock is the simulated clock at start: the configured start time,
// else the start of the newest segment of a written group, else now.
func (s *Server) startClock() time.Time {
	if t := s.cfg.Workload.StartTime; !t.IsZero() {
		return t
	}
	var newest time.Time
	for _, g := range s.groups {
		if !g.write {
			continue
		}
		for _, seg := range g.segs {
			if seg.start.After(newest) {
				newest = seg.start
			}
		}
	}
	if newest.IsZero() {
		return windowStart(s.now(), s.maxUnit(), s.loc)
	}
	return newest
}

// maxUnit is the longest segment naming unit of the written groups (24h
// when there is none).
func (s *Server) maxUnit() time.Duration {
	unit := time.Duration(0)
	for _, g := range s.groups {
		if g.write {
			unit = max(unit, g.unit)
		}
	}
	if unit == 0 {
		unit = 24 * time.Hour
	}
	return unit
}

// sortedSegments returns the group's segments by start.
func (g *group) sortedSegments() []*segment {
	out := make([]*segment, 0, len(g.segs))
	for _, seg := range g.segs {
		out = append(out, seg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start.Before(out[j].start) })
	return out
}

// sortedShardNumbers returns the shard numbers of seg in order.
func sortedShardNumbers(seg *segment) []int {
	out := make([]int, 0, len(seg.shards))
	for n := range seg.shards {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// shardNumber parses a shard directory name, shard-<N>.
func shardNumber(name string) (int, bool) {
	digits, ok := strings.CutPrefix(name, shardPrefix)
	if !ok || digits == "" {
		return 0, false
	}
	n, err := strconv.Atoi(digits)
	return n, err == nil && n >= 0 && strconv.Itoa(n) == digits
}

// windowStart returns the start of the segment window of the given unit
// (a day or an hour in loc) that holds t.
func windowStart(t time.Time, unit time.Duration, loc *time.Location) time.Time {
	t = t.In(loc)
	if unit == time.Hour {
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, loc)
	}
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// windowEnd returns the end of the window of one unit that starts at start.
// Days are calendar days, so that they follow daylight saving changes.
func windowEnd(start time.Time, unit time.Duration) time.Time {
	if unit == 24*time.Hour {
		return start.AddDate(0, 0, 1)
	}
	return start.Add(unit)
}

// segmentName names the segment directory of a window.
func segmentName(start time.Time, unit time.Duration) string {
	if unit == time.Hour {
		return banyandb.SegmentPrefix + start.Format("2006010215")
	}
	return banyandb.SegmentPrefix + start.Format("20060102")
}
