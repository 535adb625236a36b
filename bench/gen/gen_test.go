package main

import (
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"2GiB": 2 << 30, "512MiB": 512 << 20, "100MB": 100e6, "1048576": 1 << 20,
		"1.5G": 3 << 29, "64 KiB": 64 << 10, "3kb": 3000,
	} {
		got, err := parseSize(in)
		if err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "GiB", "2XB", "-1", "0"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) succeeded", in)
		}
	}
}

// planStats summarises a plan without writing it.
type planStats struct {
	total, compressible, files int64
	parts                      []int64 // bytes per part directory
}

func statsOf(p *plan) planStats {
	var s planStats
	perPart := map[string]int64{}
	for _, j := range p.jobs {
		for _, f := range j.files {
			s.total += f.length()
			s.files++
			if f.kind != kindRandom {
				s.compressible += f.length()
			}
			dir := filepath.Dir(f.rel)
			if partDirRe.MatchString(filepath.Base(dir)) && !strings.Contains(dir, "/sidx/") {
				perPart[dir] += f.length()
			}
		}
	}
	for _, n := range perPart {
		s.parts = append(s.parts, n)
	}
	slices.Sort(s.parts)
	return s
}

func TestPlanDeterministicAndExact(t *testing.T) {
	a, b := newPlan(7, 64<<20), newPlan(7, 64<<20)
	if !reflect.DeepEqual(a.jobs, b.jobs) {
		t.Fatal("same seed gave different plans")
	}
	if reflect.DeepEqual(a.jobs, newPlan(8, 64<<20).jobs) {
		t.Fatal("different seeds gave the same plan")
	}
	if got := a.total(); got != 64<<20 {
		t.Fatalf("total %d, want %d", got, 64<<20)
	}
}

func TestPlanShape2GiB(t *testing.T) {
	s := statsOf(newPlan(1, 2<<30))
	n := len(s.parts)
	t.Logf("files %d, parts %d, smallest %d, median %d, largest %d, compressible %.2f%%",
		s.files, n, s.parts[0], s.parts[n/2], s.parts[n-1], 100*float64(s.compressible)/float64(s.total))
	if s.total != 2<<30 {
		t.Errorf("total %d", s.total)
	}
	if s.parts[0] > 32<<10 || s.parts[n-1] < 100<<20 || s.parts[n/2] > 1<<20 {
		t.Errorf("part sizes not heavy-tailed: min %d median %d max %d", s.parts[0], s.parts[n/2], s.parts[n-1])
	}
	var big int64
	for _, x := range s.parts[n*9/10:] {
		big += x
	}
	if big < s.total/2 {
		t.Errorf("largest 10%% of parts hold only %d of %d bytes", big, s.total)
	}
	if c := float64(s.compressible) / float64(s.total); c < 0.02 || c > 0.05 {
		t.Errorf("compressible share %.3f, want about 0.03", c)
	}
}

func TestGenerateAddPartsCheck(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	var st stats
	if err := generate(options{out: root, size: 4 << 20, seed: 3, workers: 2}, &st); err != nil {
		t.Fatal(err)
	}
	if c := checkRoot(root); len(c.problems) > 0 {
		t.Fatalf("fresh root: %v", c.problems[:min(len(c.problems), 5)])
	}
	before, _ := treeBytes(root)
	if before != st.bytes.Load() {
		t.Errorf("wrote %d bytes, tree has %d", st.bytes.Load(), before)
	}
	if err := generate(options{out: root, size: 1 << 20, seed: 3}, &st); err == nil {
		t.Error("generate into a non-empty root succeeded")
	}
	for range 2 {
		n, err := addParts(root, 5, 3, kindRandom, &stats{})
		if err != nil || n == 0 {
			t.Fatal(n, err)
		}
		c := checkRoot(root)
		if len(c.problems) > 0 {
			t.Fatalf("after --add-parts: %v", c.problems[:min(len(c.problems), 5)])
		}
	}
	after, _ := treeBytes(root)
	if grow := float64(after-before) / float64(before); grow < 0.09 || grow > 0.13 {
		t.Errorf("two 5%% additions grew the tree by %.1f%%", 100*grow)
	}
	if _, err := os.Stat(filepath.Join(root, "trace/data/sw_trace")); err != nil {
		t.Error(err)
	}
}

// --stream-index makes the stream element indexes that share of the root,
// as on a real root of log streams; the total is still exact.
func TestStreamIndexShare(t *testing.T) {
	p := newShapedPlan(1, 256<<20, 0.67)
	var idx int64
	for _, j := range p.jobs {
		for _, f := range j.files {
			if strings.Contains(f.rel, "/idx/") && strings.HasPrefix(f.rel, "stream/") {
				idx += f.size
			}
		}
	}
	if p.total() != 256<<20 || idx < 256<<20*60/100 || idx > 256<<20*70/100 {
		t.Errorf("total %d, stream indexes %d (%.1f%%), want 256 MiB and about 67%%", p.total(), idx, 100*float64(idx)/float64(256<<20))
	}
}

// In a root of log streams, Bluge index files are shaped like real ones:
// zstd at its fastest level stores them in about half their size, and their
// first fifth (a segment's stored documents) is incompressible. The
// default root's index files stay incompressible.
func TestRealLikeIndexFilesCompressAboutTwoToOne(t *testing.T) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	ratio := func(b []byte) float64 { return float64(len(enc.EncodeAll(b, nil))) / float64(len(b)) }
	for _, size := range []int64{200 << 10, 3 << 20, 9 << 20} {
		data := make([]byte, size)
		c := newBlugeContent(size, rand.NewPCG(1, uint64(size)))
		for b := data; len(b) > 0; b = b[min(len(b), 100_000):] {
			c.fill(b[:min(len(b), 100_000)]) // in uneven writes, as the writer's
		}
		whole, head := ratio(data), ratio(data[:size/5])
		t.Logf("%d bytes: whole file %.3f, first fifth %.3f", size, whole, head)
		if whole < 0.42 || whole > 0.58 || head < 0.98 {
			t.Errorf("a %d-byte index file compresses to %.3f (want about 0.5), its first fifth to %.3f (want incompressible)", size, whole, head)
		}
	}
	if k := newShapedPlan(1, 64<<20, 0).blugeKind(); k != kindRandom {
		t.Errorf("the default root's index files are of kind %d, want random", k)
	}
	if k := newShapedPlan(1, 64<<20, 0.67).blugeKind(); k != kindBluge {
		t.Errorf("a root of log streams has index files of kind %d, want Bluge-shaped", k)
	}
}

// --next-day moves a root a day on: today's segment gets parts, yesterday's
// merges two parts into one, a segment appears for tomorrow and the oldest
// expires; the root stays valid and about the same size.
func TestNextDay(t *testing.T) {
	root := filepath.Join(t.TempDir(), "root")
	if err := generate(options{out: root, size: 4 << 20, seed: 3, workers: 2, streamIndex: 0.5}, &stats{}); err != nil {
		t.Fatal(err)
	}
	group := filepath.Join(root, "stream", "data", "sw_recordsLog")
	segsBefore, _ := subdirs(group, "seg-")
	before, _ := treeBytes(root)
	for day := range 2 {
		n, err := nextDay(root, uint64(10+day), kindBluge, &stats{})
		if err != nil || n != len(groupDefs) {
			t.Fatalf("day %d: %d groups moved on, %v", day, n, err)
		}
		if c := checkRoot(root); len(c.problems) > 0 {
			t.Fatalf("after day %d: %v", day, c.problems[:min(len(c.problems), 5)])
		}
	}
	segs, _ := subdirs(group, "seg-")
	if len(segs) != len(segsBefore) || segs[0] == segsBefore[0] || segs[len(segs)-1] == segsBefore[len(segsBefore)-1] {
		t.Errorf("segments %s…%s (%d), before %s…%s (%d): want as many, the oldest expired and new ones ahead",
			segs[0], segs[len(segs)-1], len(segs), segsBefore[0], segsBefore[len(segsBefore)-1], len(segsBefore))
	}
	today, err := latestSegmentShards(root, stream, "sw_recordsLog")
	if err != nil || len(today) == 0 || len(today[0].live) != partsPerDay {
		t.Fatalf("today's shards: %v, %v; want %d parts each", today, err, partsPerDay)
	}
	yesterday := segs[len(segs)-3] // then today's and tomorrow's
	start, _ := segmentStart(yesterday)
	sh, err := readShard(root, stream, path.Join("stream/data/sw_recordsLog", yesterday, "shard-0"), start, "sw_recordsLog")
	if err != nil || len(sh.live) != partsPerDay-1 {
		t.Errorf("yesterday's shard lists %v (%v): want its two newest parts merged into one", sh, err)
	}
	after, _ := treeBytes(root)
	if grow := float64(after-before) / float64(before); grow < -0.2 || grow > 0.3 {
		t.Errorf("two days changed the root by %.1f%%", 100*grow)
	}
}
