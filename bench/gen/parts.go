package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path"
	"time"
)

// catalogKind is one of the part-based catalogs.
type catalogKind int

const (
	measure catalogKind = iota
	stream
	trace
)

func (k catalogKind) String() string {
	return [...]string{"measure", "stream", "trace"}[k]
}

// minPartBytes is the smallest data size of a generated part.
const minPartBytes = 4 << 10

// partSpec describes one part to generate.
type partSpec struct {
	kind     catalogKind
	shardRel string    // shard directory, relative to the root
	num      uint64    // part number (its 16-hex directory name)
	size     int64     // data bytes (excluding metadata.json and tag.type)
	names    []string  // measure/stream tag families, trace tags
	rules    []string  // trace: sidx rules
	segStart time.Time // start of the segment's day
	recent   bool      // timestamps near the end of the day (new parts)
}

// partName is the 16-hex directory name of part number n.
func partName(n uint64) string { return fmt.Sprintf("%016x", n) }

// dir is the part directory relative to the root.
func (p partSpec) dir() string { return path.Join(p.shardRel, partName(p.num)) }

// share is one data file of a part: a fraction of the part's bytes with a
// floor. frac < 0 marks the file that takes what is left.
type share struct {
	name string
	frac float64
	min  int64
	kind contentKind
}

// buildPart returns the directories and files of a part, in write order.
// metadata.json (the commit marker) is always the last file. Trace parts
// also get one sidx part per rule, written before the main part.
func buildPart(p partSpec, seed uint64) (dirs []string, files []file) {
	rng := rand.New(rand.NewPCG(seed, hashString(p.dir())))
	data := p.size
	if p.kind == trace {
		for _, rule := range p.rules {
			sub := max(int64(float64(p.size)*0.03), 1024)
			d, f := buildSidxPart(p, rule, sub, rng)
			dirs, files = append(dirs, d...), append(files, f...)
			data -= sub
		}
	}
	dirs = append(dirs, p.dir())
	parts := splitShares(p.dir(), max(data, 1024), partShares(p), rng)
	files = append(files, parts...)
	files = append(files, literal(path.Join(p.dir(), "tag.type"), tagType(p)))
	files = append(files, literal(path.Join(p.dir(), "metadata.json"), partMetadata(p, parts, rng)))
	return dirs, files
}

// partShares lists a part's data files per catalog (docs/banyandb.md, Measure, stream and trace trees).
func partShares(p partSpec) []share {
	var s []share
	n := float64(len(p.names))
	switch p.kind {
	case measure:
		s = []share{{"meta.bin", .002, 40, kindRandom}, {"primary.bin", .02, 60, kindRandom},
			{"timestamps.bin", .08, 14, kindRandom}, {"fv.bin", .35, 64, kindRandom}}
		for _, f := range p.names {
			s = append(s, share{f + ".tfm", .033 / n, 17, kindPattern}, share{f + ".tf", -1, 64, kindRandom})
		}
	case stream:
		s = []share{{"meta.bin", .002, 40, kindRandom}, {"primary.bin", .02, 60, kindRandom},
			{"timestamps.bin", .15, 14, kindRandom}}
		for _, f := range p.names {
			bloom := .03 / n
			if p.size < 64<<10 {
				bloom = 0 // small parts have empty bloom filters, as on real servers
			}
			s = append(s, share{f + ".tfm", .033 / n, 17, kindPattern},
				share{f + ".tff", bloom, 0, kindRandom}, share{f + ".tf", -1, 64, kindRandom})
		}
	case trace:
		s = []share{{"meta.bin", .002, 41, kindRandom}, {"primary.bin", .03, 100, kindRandom},
			{"spans.bin", .6, 200, kindRandom}, {"traceID.filter", .02, 64, kindRandom}}
		for _, t := range p.names {
			s = append(s, share{t + ".tm", .033 / n, 17, kindPattern}, share{t + ".t", -1, 64, kindRandom})
		}
	}
	return s
}

// splitShares turns shares into files under dir totalling about total
// bytes. Fixed fractions get ±30% jitter; the remainder files split what is
// left equally.
func splitShares(dir string, total int64, shares []share, rng *rand.Rand) []file {
	sizes := make([]int64, len(shares))
	var used int64
	var rest []int
	for i, s := range shares {
		if s.frac < 0 {
			rest = append(rest, i)
			continue
		}
		sizes[i] = max(s.min, int64(float64(total)*s.frac*(0.7+0.6*rng.Float64())))
		used += sizes[i]
	}
	left := total - used
	for k, i := range rest {
		n := left / int64(len(rest)-k)
		if k < len(rest)-1 {
			n = int64(float64(n) * (0.6 + 0.8*rng.Float64()))
		}
		sizes[i] = max(shares[i].min, n)
		left -= n
	}
	files := make([]file, len(shares))
	for i, s := range shares {
		files[i] = file{rel: path.Join(dir, s.name), size: sizes[i], kind: s.kind, token: s.name}
	}
	return files
}

// buildSidxPart returns a trace sidx part for one index rule, with its
// manifest.json written last.
func buildSidxPart(p partSpec, rule string, size int64, rng *rand.Rand) ([]string, []file) {
	dir := path.Join(p.shardRel, "sidx", rule, partName(p.num))
	shares := []share{{"meta.bin", .01, 39, kindRandom}, {"primary.bin", .03, 100, kindRandom},
		{"keys.bin", .15, 64, kindRandom}, {"data.bin", -1, 64, kindRandom}}
	for _, other := range p.rules {
		if other != rule {
			shares = append(shares, share{other + ".td", .3, 64, kindRandom},
				share{other + ".tf", 0, 0, kindRandom}, share{other + ".tm", .03, 17, kindPattern})
		}
	}
	files := splitShares(dir, size, shares, rng)
	minTS, maxTS := timeRange(p, rng)
	var sum int64
	for _, f := range files {
		sum += f.length()
	}
	count := max(sum/12, 1)
	m := sidxManifest{
		MinTimestamp: minTS, MaxTimestamp: maxTS, CompressedSizeBytes: sum,
		UncompressedSizeBytes: sum * (2 + rng.Int64N(3)), TotalCount: count,
		BlocksCount: max(count/2048, 1), MinKey: rng.Int64N(100), MaxKey: 100 + rng.Int64N(1e6),
		ID: p.num, SegmentID: p.segStart.UnixNano(),
	}
	files = append(files, literal(path.Join(dir, "manifest.json"), mustJSON(m)))
	return []string{dir}, files
}

// partMeta is metadata.json of measure and stream parts.
type partMeta struct {
	CompressedSizeBytes   int64 `json:"compressedSizeBytes"`
	UncompressedSizeBytes int64 `json:"uncompressedSizeBytes"`
	TotalCount            int64 `json:"totalCount"`
	BlocksCount           int64 `json:"blocksCount"`
	MinTimestamp          int64 `json:"minTimestamp"`
	MaxTimestamp          int64 `json:"maxTimestamp"`
}

// tracePartMeta is metadata.json of trace parts.
type tracePartMeta struct {
	CompressedSizeBytes       int64 `json:"compressedSizeBytes"`
	UncompressedSpanSizeBytes int64 `json:"uncompressedSpanSizeBytes"`
	TotalCount                int64 `json:"totalCount"`
	BlocksCount               int64 `json:"blocksCount"`
	MinTimestamp              int64 `json:"minTimestamp"`
	MaxTimestamp              int64 `json:"maxTimestamp"`
}

// sidxManifest is manifest.json of trace sidx parts.
type sidxManifest struct {
	MinTimestamp          int64  `json:"minTimestamp"`
	MaxTimestamp          int64  `json:"maxTimestamp"`
	CompressedSizeBytes   int64  `json:"compressedSizeBytes"`
	UncompressedSizeBytes int64  `json:"uncompressedSizeBytes"`
	TotalCount            int64  `json:"totalCount"`
	BlocksCount           int64  `json:"blocksCount"`
	MinKey                int64  `json:"minKey"`
	MaxKey                int64  `json:"maxKey"`
	ID                    uint64 `json:"id"`
	SegmentID             int64  `json:"segmentID"`
}

// partMetadata renders metadata.json: compressedSizeBytes is the sum of
// the part's data files, timestamps lie within the segment's day.
func partMetadata(p partSpec, files []file, rng *rand.Rand) []byte {
	var sum int64
	for _, f := range files {
		sum += f.length()
	}
	minTS, maxTS := timeRange(p, rng)
	rowBytes := map[catalogKind]int64{measure: 6, stream: 19, trace: 128}[p.kind]
	count := max(sum/rowBytes, 1)
	blocks := max(count/8192, 1)
	unc := sum * (3 + rng.Int64N(7))
	if p.kind == trace {
		return mustJSON(tracePartMeta{sum, unc, count, blocks, minTS, maxTS})
	}
	return mustJSON(partMeta{sum, unc, count, blocks, minTS, maxTS})
}

// timeRange picks [min, max] nanosecond timestamps inside the part's day:
// old (merged) parts span most of it, recent parts its last hour.
func timeRange(p partSpec, rng *rand.Rand) (int64, int64) {
	start := p.segStart.UnixNano()
	day := int64(24 * time.Hour)
	lo := start + rng.Int64N(day/4)
	if p.recent {
		lo = start + day - int64(time.Hour) + rng.Int64N(int64(30*time.Minute))
	}
	hi := lo + rng.Int64N(start+day-lo)
	return lo, hi
}

// tagType renders a small binary tag.type listing families/tags and types.
func tagType(p partSpec) []byte {
	b := []byte{byte(len(p.names))}
	for i, n := range p.names {
		b = append(b, byte(len(n)))
		b = append(b, n...)
		b = append(b, byte(1+i%4))
	}
	return b
}

// literal is a file with given content.
func literal(rel string, data []byte) file {
	return file{rel: rel, kind: kindLiteral, data: data}
}

// mustJSON marshals v; the types used here cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// snpList renders a shard .snp: a JSON array of live part names.
func snpList(nums []uint64) []byte {
	names := make([]string, len(nums))
	for i, n := range nums {
		names[i] = partName(n)
	}
	return mustJSON(names)
}

// snpName is the file name of a shard snapshot list with this epoch.
func snpName(epoch uint64) string { return fmt.Sprintf("%016x.snp", epoch) }
