package main

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"path"
	"slices"
	"sort"
	"time"
)

// baseDay is the day after the last data segment. Like a real server, every
// group also has an empty, pre-created segment for it.
var baseDay = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

// groupDef is a group of a part-based catalog. names are the tag families
// (measure, stream) or tags (trace); weight is its rough share of bytes.
type groupDef struct {
	kind   catalogKind
	name   string
	names  []string
	weight float64
}

// groupDefs are SkyWalking-like groups.
var groupDefs = []groupDef{
	{measure, "sw_metricsMinute", []string{"default", "storage-only"}, 0.22},
	{measure, "sw_metricsHour", []string{"default"}, 0.09},
	{measure, "sw_metricsDay", []string{"default"}, 0.04},
	{measure, "sw_topN", []string{"default"}, 0.05},
	{stream, "sw_recordsLog", []string{"data", "searchable"}, 0.17},
	{stream, "sw_records", []string{"data", "searchable"}, 0.08},
	{stream, "sw_browserErrorLog", []string{"data", "searchable"}, 0.05},
	{trace, "sw_trace", []string{"service_id", "endpoint_id", "duration", "timestamp", "status"}, 0.22},
	{trace, "sw_zipkinTrace", []string{"service_id", "duration", "timestamp"}, 0.08},
}

// traceRules are the ordered index rules of trace groups (shard sidx/).
var traceRules = []string{"timestamp", "duration"}

// propertyGroups are the groups of the property catalog (one shard each).
var propertyGroups = []string{"sw_property", "sw_ui_template"}

// group is a groupDef with its drawn layout.
type group struct {
	groupDef
	days   int // data segments, one per day, ending the day before baseDay
	shards int
}

// shardPlan is one shard of one segment and the data sizes of its parts.
type shardPlan struct {
	g        *group
	segStart time.Time
	shard    int
	weight   float64
	parts    []int64
}

// segRel is the relative directory of a segment.
func segRel(kind catalogKind, group string, day time.Time) string {
	return path.Join(kind.String(), "data", group, "seg-"+day.Format("20060102"))
}

// rel is the shard's directory relative to the root.
func (s *shardPlan) rel() string {
	return path.Join(segRel(s.g.kind, s.g.name, s.segStart), fmt.Sprintf("shard-%d", s.shard))
}

// plan is the whole generated tree before anything is written.
type plan struct {
	seed uint64
	size int64
	// streamIndex is the share of size in stream element indexes.
	streamIndex float64
	rng         *rand.Rand
	groups      []*group
	shards      []*shardPlan
	segW        map[string]float64 // segment directory -> weight share
	index       int64              // bytes planned for Bluge index files
	jobs        []job
}

// newPlan lays out groups, segments and shards and sizes every file so
// that they total size bytes. Small files and per-file minimums are only
// known once planned, so a second pass takes them out of the part budget.
func newPlan(seed uint64, size int64) *plan {
	return newShapedPlan(seed, size, 0)
}

// newShapedPlan is newPlan with streamIndex of the bytes in stream element
// indexes (shard idx/); 0 keeps the default root's small indexes (8% of
// the stream shards' share). A root of log streams written by a real
// server held about two thirds (docs/banyandb.md, Snapshots).
func newShapedPlan(seed uint64, size int64, streamIndex float64) *plan {
	p := buildPlan(seed, size, 0, streamIndex)
	if excess := p.total() - size; excess > size/1000 {
		p = buildPlan(seed, size, excess, streamIndex)
	}
	p.fixTotal()
	return p
}

// buildPlan plans the tree with slack bytes less for parts.
func buildPlan(seed uint64, size, slack int64, streamIndex float64) *plan {
	p := &plan{seed: seed, size: size, rng: rand.New(rand.NewPCG(seed, 0x62616e79616e6462)),
		segW: map[string]float64{}, streamIndex: streamIndex}
	p.layout()
	p.buildJobs(slack)
	return p
}

// blugeKind is the content of the root's Bluge index files: shaped like
// real ones (about 2:1 under zstd) in a root of log streams, and
// incompressible in the default root, as they always were there.
func (p *plan) blugeKind() contentKind {
	if p.streamIndex > 0 {
		return kindBluge
	}
	return kindRandom
}

// total is the planned number of bytes.
func (p *plan) total() int64 {
	var n int64
	for _, j := range p.jobs {
		n += j.bytes()
	}
	return n
}

// lognorm draws exp(N(0, sigma²)).
func (p *plan) lognorm(sigma float64) float64 { return math.Exp(p.rng.NormFloat64() * sigma) }

// layout draws segment counts, shard counts and weights. A shard's weight
// is its expected share of the root's bytes.
func (p *plan) layout() {
	for _, d := range groupDefs {
		g := &group{groupDef: d, days: 20 + p.rng.IntN(11), shards: 2 + p.rng.IntN(3)}
		g.weight *= p.lognorm(0.3)
		p.groups = append(p.groups, g)
		p.layoutGroup(g)
	}
}

// layoutGroup creates the shards of one group. Later days weigh a little
// more (growing traffic), every day and shard varies.
func (p *plan) layoutGroup(g *group) {
	segs := make([]float64, g.days)
	var total float64
	for d := range segs {
		segs[d] = p.lognorm(0.6) * (1 + 0.5*float64(d)/float64(g.days))
		total += segs[d]
	}
	for d := range segs {
		day := baseDay.AddDate(0, 0, d-g.days)
		segShare := g.weight * segs[d] / total
		p.segW[segRel(g.kind, g.name, day)] = segShare
		sh := make([]float64, g.shards)
		var shTotal float64
		for i := range sh {
			sh[i] = p.lognorm(0.25)
			shTotal += sh[i]
		}
		for i := range sh {
			p.shards = append(p.shards, &shardPlan{g: g, segStart: day, shard: i,
				weight: segShare * sh[i] / shTotal})
		}
	}
}

// indexBytes sizes a Bluge directory as a fraction of the root.
func (p *plan) indexBytes(frac float64, floor int64) int64 {
	n := max(int64(frac*float64(p.size)), floor)
	p.index += n
	return n
}

// buildJobs sizes index files first, then spreads the rest over parts.
func (p *plan) buildJobs(slack int64) {
	var weights float64
	for _, sh := range p.shards {
		weights += sh.weight
	}
	root := job{dirs: []string{"measure", "measure/data", "stream", "stream/data", "trace", "trace/data",
		"property", "property/data", "schema-property", "schema-property/data", "schema-property/data/_schema"}}
	for _, g := range p.groups {
		root.dirs = append(root.dirs, path.Join(g.kind.String(), "data", g.name))
		p.jobs = append(p.jobs, p.segmentJobs(g, weights)...)
	}
	p.jobs = append(p.jobs, p.propertyJobs()...)
	var streamWeights float64
	for _, sh := range p.shards {
		if sh.g.kind == stream {
			streamWeights += sh.weight
		}
	}
	streamIdx := map[*shardPlan]int64{}
	for _, sh := range p.shards {
		if sh.g.kind == stream {
			share := 0.08 * sh.weight / weights
			if p.streamIndex > 0 {
				share = p.streamIndex * sh.weight / streamWeights
			}
			streamIdx[sh] = p.indexBytes(share, 1024)
		}
	}
	p.assignParts(max(p.size-p.index-slack, int64(len(p.shards))*minPartBytes))
	for _, sh := range p.shards {
		p.jobs = append(p.jobs, p.shardJob(sh, streamIdx[sh]))
	}
	p.jobs = append([]job{root}, p.jobs...)
	// Largest jobs first so the workers finish together.
	sizes := make(map[*job]int64, len(p.jobs))
	ptrs := make([]*job, len(p.jobs))
	for i := range p.jobs {
		ptrs[i] = &p.jobs[i]
		sizes[ptrs[i]] = p.jobs[i].bytes()
	}
	slices.SortStableFunc(ptrs, func(a, b *job) int { return cmp.Compare(sizes[b], sizes[a]) })
	sorted := make([]job, len(ptrs))
	for i, j := range ptrs {
		sorted[i] = *j
	}
	p.jobs = sorted
}

// segmentJobs creates each segment's metadata and series index (sidx/),
// plus the empty pre-created segment for baseDay.
func (p *plan) segmentJobs(g *group, weights float64) []job {
	var jobs []job
	for d := 0; d <= g.days; d++ {
		day := baseDay.AddDate(0, 0, d-g.days)
		rel := segRel(g.kind, g.name, day)
		j := job{dirs: []string{rel, path.Join(rel, "sidx")}}
		j.files = append(j.files, literal(path.Join(rel, "metadata"), segmentMetadata(day)))
		if d < g.days {
			n := p.indexBytes(0.004*p.segW[rel]/weights, 466)
			j.files = append(j.files, blugeFiles(path.Join(rel, "sidx"), n, 2+p.rng.Uint64N(3), p.blugeKind(), p.rng)...)
		}
		jobs = append(jobs, j)
	}
	return jobs
}

// segmentMetadata is a 1.5.0 segment metadata file ending at the next day.
func segmentMetadata(day time.Time) []byte {
	return fmt.Appendf(nil, `{"version":"1.5.0","endTime":"%s"}`, day.AddDate(0, 0, 1).Format(time.RFC3339))
}

// propertyJobs creates the property groups and the schema-property store,
// both Bluge directories.
func (p *plan) propertyJobs() []job {
	var jobs []job
	for _, g := range propertyGroups {
		dir := path.Join("property", "data", g, "shard-0")
		n := p.indexBytes(0.0025/float64(len(propertyGroups)), 8<<10)
		jobs = append(jobs, job{dirs: []string{path.Dir(dir), dir},
			files: blugeFiles(dir, n, 0x20+p.rng.Uint64N(0x20), p.blugeKind(), p.rng)})
	}
	dir := path.Join("schema-property", "data", "_schema", "shard-0")
	n := min(p.indexBytes(0.001, 24<<10), 4<<20)
	jobs = append(jobs, job{dirs: []string{dir}, files: blugeFiles(dir, n, 0x10, p.blugeKind(), p.rng)})
	return jobs
}

// drawParts draws part sizes from a bounded Pareto distribution (alpha 0.6,
// 8 KiB to 384 MiB): most parts are small, most bytes are in the big ones.
// It draws at least minCount parts, then scales them to budget.
func (p *plan) drawParts(budget int64, minCount int) []int64 {
	const alpha = 0.6
	lo := float64(8 << 10)
	hi := math.Max(math.Min(float64(budget)/5, 384<<20), 64<<10)
	c := 1 - math.Pow(lo/hi, alpha)
	var draws []float64
	var sum float64
	for sum < float64(budget) || len(draws) < minCount {
		x := lo / math.Pow(1-p.rng.Float64()*c, 1/alpha)
		draws = append(draws, x)
		sum += x
	}
	scale := float64(budget) / sum
	sizes := make([]int64, len(draws))
	for i, x := range draws {
		sizes[i] = max(int64(x*scale), minPartBytes)
	}
	slices.Sort(sizes)
	return sizes
}

// assignParts gives every shard one of the smallest parts (fresh flushes),
// then places the others by shard weight, so busy days get the big merges.
func (p *plan) assignParts(budget int64) {
	sizes := p.drawParts(budget, len(p.shards))
	for i, k := range p.rng.Perm(len(p.shards)) {
		p.shards[k].parts = append(p.shards[k].parts, sizes[i])
	}
	cum := make([]float64, len(p.shards))
	var acc float64
	for i, sh := range p.shards {
		acc += sh.weight
		cum[i] = acc
	}
	for _, s := range sizes[len(p.shards):] {
		sh := p.shards[min(sort.SearchFloat64s(cum, p.rng.Float64()*acc), len(cum)-1)]
		sh.parts = append(sh.parts, s)
	}
}

// shardJob writes a shard: its parts (largest, oldest first, with gaps in
// the numbering left by merges), index directories, then the .snp.
func (p *plan) shardJob(sh *shardPlan, idxBytes int64) job {
	rel := sh.rel()
	rng := rand.New(rand.NewPCG(p.seed, hashString(rel)))
	j := job{dirs: []string{rel}}
	if sh.g.kind == trace {
		j.dirs = append(j.dirs, path.Join(rel, "sidx"))
		for _, r := range traceRules {
			j.dirs = append(j.dirs, path.Join(rel, "sidx", r))
		}
	}
	slices.SortFunc(sh.parts, func(a, b int64) int { return cmp.Compare(b, a) })
	num := 1 + rng.Uint64N(3)
	var nums []uint64
	for _, size := range sh.parts {
		spec := partSpec{kind: sh.g.kind, shardRel: rel, num: num, size: size, names: sh.g.names,
			rules: traceRules, segStart: sh.segStart}
		d, f := buildPart(spec, p.seed)
		j.dirs, j.files = append(j.dirs, d...), append(j.files, f...)
		nums = append(nums, num)
		num += 1 + rng.Uint64N(5)
	}
	if sh.g.kind == stream {
		j.dirs = append(j.dirs, path.Join(rel, "idx"))
		j.files = append(j.files, blugeFiles(path.Join(rel, "idx"), idxBytes, 2, p.blugeKind(), rng)...)
	}
	epoch := uint64(sh.segStart.AddDate(0, 0, 1).UnixNano()) + rng.Uint64N(uint64(6*time.Hour))
	if sh.g.kind == trace {
		j.files = append(j.files, literal(path.Join(rel, "finalize.json"), finalizeJSON(nums, epoch)))
	}
	j.files = append(j.files, literal(path.Join(rel, snpName(epoch)), snpList(nums)))
	return j
}

// finalizeJSON is a stand-in for a trace shard's finalize.json (its real
// format is not in docs/banyandb.md; only that it is rewritten in place).
func finalizeJSON(nums []uint64, epoch uint64) []byte {
	names := make([]string, len(nums))
	for i, n := range nums {
		names[i] = partName(n)
	}
	return mustJSON(struct {
		Parts     []string `json:"finalizedParts"`
		UpdatedAt uint64   `json:"updatedAt"`
	}{names, epoch})
}

// fixTotal makes the tree exactly size bytes where possible by resizing
// the largest Bluge .seg file (it has no metadata that records its size).
func (p *plan) fixTotal() {
	var total int64
	var best *file
	for ji := range p.jobs {
		for fi := range p.jobs[ji].files {
			f := &p.jobs[ji].files[fi]
			total += f.length()
			if path.Ext(f.rel) == ".seg" && (best == nil || f.size > best.size) {
				best = f
			}
		}
	}
	if best != nil {
		best.size = max(best.size+p.size-total, 256)
	}
}
