package choices

// Fixed 4 MiB chunks against content-defined chunking (restic's Rabin
// chunker) on BanyanDB data: docs/repository-format.md, "Blobs and chunking".

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/restic/chunker"
	"github.com/zeebo/blake3"
)

// fixedChunkSize is the chunk size of the repository format.
const fixedChunkSize = 4 << 20

// testPol is a fixed irreducible polynomial (the one of restic/chunker's own
// tests), so that every run cuts at the same places. restic picks one at
// random per repository; any irreducible polynomial behaves alike.
const testPol = chunker.Pol(0x3DA3358B4DC173)

// splitter cuts a file into chunks (sub-slices of its content).
type splitter interface {
	split(data []byte) ([][]byte, error)
}

type fixedSplitter int

func (size fixedSplitter) split(data []byte) ([][]byte, error) {
	var out [][]byte
	for off := 0; off < len(data); off += int(size) {
		out = append(out, data[off:min(off+int(size), len(data))])
	}
	return out, nil
}

// cdcSplitter is restic's Rabin chunker with the given bounds and average
// (2^bits bytes past the minimum).
type cdcSplitter struct {
	min, max uint
	bits     int
	c        *chunker.Chunker
	buf      []byte
}

func newCDC(min, max uint, bits int) *cdcSplitter {
	return &cdcSplitter{
		min: min, max: max, bits: bits,
		c:   chunker.NewWithBoundaries(bytes.NewReader(nil), testPol, min, max),
		buf: make([]byte, 0, max),
	}
}

func (s *cdcSplitter) split(data []byte) ([][]byte, error) {
	s.c.ResetWithBoundaries(bytes.NewReader(data), testPol, s.min, s.max)
	s.c.SetAverageBits(s.bits)
	var out [][]byte
	for {
		ch, err := s.c.Next(s.buf)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		piece := data[ch.Start : ch.Start+ch.Length]
		if !bytes.Equal(piece, ch.Data) {
			return nil, fmt.Errorf("chunk at %d+%d does not match the input", ch.Start, ch.Length)
		}
		s.buf = ch.Data
		out = append(out, piece)
	}
}

// scheme is one way of chunking, with the repository it fills.
type scheme struct {
	name string
	sp   splitter
	seen map[[32]byte]bool
}

// result is what one backup of some files added to a repository.
type result struct {
	raw    int64 // bytes read
	reused int64 // bytes whose chunk was already stored
	chunks int64
}

func (r result) stored() int64 { return r.raw - r.reused }

func (r *result) add(o result) {
	r.raw += o.raw
	r.reused += o.reused
	r.chunks += o.chunks
}

// backup chunks every file, hashes each chunk with BLAKE3 and stores the
// chunks not seen before.
func (s *scheme) backup(t testing.TB, files [][]byte) result {
	t.Helper()
	var r result
	for _, f := range files {
		chunks, err := s.sp.split(f)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		var n int64
		for _, c := range chunks {
			n += int64(len(c))
			id := blake3.Sum256(c)
			if s.seen[id] {
				r.reused += int64(len(c))
			} else {
				s.seen[id] = true
			}
		}
		if n != int64(len(f)) {
			t.Fatalf("%s: chunks of a %d-byte file add up to %d bytes", s.name, len(f), n)
		}
		r.raw += n
		r.chunks += int64(len(chunks))
	}
	return r
}

// Indexes into the schemes of newSchemes.
const (
	schemeFixed = iota // the repository format's choice
	schemeCDC          // restic's defaults
	schemeFixedSmall
	schemeCDCSmall
)

// newSchemes returns the chunking schemes compared, each with an empty
// repository. The last two are references, not candidates: chunks this small
// would make the index a thousand times larger; they show what any
// granularity could find at best.
func newSchemes() []*scheme {
	return []*scheme{
		{name: "fixed 4M", sp: fixedSplitter(fixedChunkSize)},
		{name: "CDC 512K-8M", sp: newCDC(chunker.MinSize, chunker.MaxSize, 20)},
		{name: "ref fixed 2K", sp: fixedSplitter(2 << 10)},
		{name: "ref CDC 512-64K/2K", sp: newCDC(512, 64<<10, 11)},
	}
}

func resetRepos(ss []*scheme) {
	for _, s := range ss {
		s.seen = map[[32]byte]bool{}
	}
}

// chunkTable renders rows of per-scheme results.
type chunkTable struct {
	tb *table
}

func newChunkTable(ss []*scheme) *chunkTable {
	header := []string{"scenario", "raw B"}
	for _, s := range ss {
		header = append(header, s.name+": new B", "reused B")
	}
	return &chunkTable{tb: newTable(header...)}
}

func (ct *chunkTable) row(t *testing.T, label string, rs []result) {
	t.Helper()
	cells := []string{label, num(rs[0].raw)}
	for i, r := range rs {
		if r.raw != rs[0].raw {
			t.Errorf("%s: scheme %d read %d bytes, scheme 0 %d", label, i, r.raw, rs[0].raw)
		}
		if r.reused < 0 || r.reused > r.raw || r.stored()+r.reused != r.raw {
			t.Errorf("%s: scheme %d: inconsistent %+v", label, i, r)
		}
		cells = append(cells, num(r.stored()), fmt.Sprintf("%d (%s)", r.reused, pct(r.reused, r.raw)))
	}
	ct.tb.row(cells...)
}

func backupAll(t *testing.T, ss []*scheme, files [][]byte) []result {
	t.Helper()
	rs := make([]result, len(ss))
	for i, s := range ss {
		rs[i] = s.backup(t, files)
	}
	return rs
}

func contents(files []treeFile) ([][]byte, int) {
	out := make([][]byte, len(files))
	largest := 0
	for i, f := range files {
		out[i] = f.data
		largest = max(largest, len(f.data))
	}
	return out, largest
}

// sameAsFixed checks what is certain when no file exceeds chunker.MinSize:
// the restic chunker then returns every file whole, and so do 4 MiB chunks.
func sameAsFixed(t *testing.T, label string, largest int, rs []result) {
	t.Helper()
	if largest < chunker.MinSize && rs[schemeCDC] != rs[schemeFixed] {
		t.Errorf("%s: largest file %d B < CDC minimum, yet CDC %+v != fixed %+v", label, largest, rs[schemeCDC], rs[schemeFixed])
	}
}

func TestChunkingDedup(t *testing.T) {
	v0102 := loadDataTrees(t, fixture.V0102)
	v011 := loadDataTrees(t, fixture.V011)
	files0102, largest0102 := contents(v0102)
	files011, largest011 := contents(v011)
	ss := newSchemes()
	ct := newChunkTable(ss)

	// (a) Both releases' trees (same workload) into one repository.
	resetRepos(ss)
	r1 := backupAll(t, ss, files0102)
	ct.row(t, "(a) 0.10.2 data tree, first backup", r1)
	r2 := backupAll(t, ss, files011)
	ct.row(t, "(a) 0.11 data tree, next backup into same repo", r2)
	both := make([]result, len(ss))
	for i := range ss {
		both[i].add(r1[i])
		both[i].add(r2[i])
	}
	ct.row(t, "(a) both trees: repository total", both)
	resetRepos(ss)
	alone := backupAll(t, ss, files011)
	ct.row(t, "(a) 0.11 data tree alone, fresh repo", alone)
	for _, rs := range [][]result{r1, r2, both, alone} {
		sameAsFixed(t, "(a)", max(largest0102, largest011), rs)
	}
	for i := range ss {
		if r2[i].reused < alone[i].reused {
			t.Errorf("(a) %s: 0.11 reuses %d B after 0.10.2 but %d B alone", ss[i].name, r2[i].reused, alone[i].reused)
		}
	}

	// (b) Simulated merges of the 0.11 parts, backed up after the 0.11 tree.
	merged := mergeParts(t, v011)
	var mergedAll []result
	for _, m := range merged {
		rs := backupAll(t, ss, m.files)
		sameAsFixed(t, "(b)", m.largest, rs)
		if rs[0].raw != m.srcBytes {
			t.Errorf("(b) %s: merged parts hold %d B, their sources %d B", m.label, rs[0].raw, m.srcBytes)
		}
		ct.row(t, "(b) "+m.label, rs)
		if mergedAll == nil {
			mergedAll = make([]result, len(ss))
		}
		for i := range rs {
			mergedAll[i].add(rs[i])
		}
	}
	ct.row(t, "(b) all merged parts", mergedAll)

	// (c) A synthetic large part file.
	resetRepos(ss)
	rng := rand.NewChaCha8([32]byte{'b', 'a', 'n', 'y', 'a', 'n'})
	randomBytes := func(n int) []byte {
		buf := make([]byte, n)
		_, _ = rng.Read(buf)
		return buf
	}
	orig := randomBytes(64 << 20)
	ct.row(t, "(c) 64 MiB random file, first backup", backupAll(t, ss, [][]byte{orig}))
	again := backupAll(t, ss, [][]byte{orig})
	ct.row(t, "(c) same file unchanged, second backup", again)
	for i, r := range again {
		if r.reused != r.raw {
			t.Errorf("(c) %s: unchanged file reuses %d of %d B", ss[i].name, r.reused, r.raw)
		}
	}
	appended := append(orig[:len(orig):len(orig)], randomBytes(1<<20)...)
	app := backupAll(t, ss, [][]byte{appended})
	ct.row(t, "(c) 1 MiB appended (BanyanDB never appends)", app)
	for _, i := range []int{schemeFixed, schemeFixedSmall} {
		if app[i].reused != int64(len(orig)) {
			t.Errorf("(c) %s: append reuses %d B, want the whole %d-byte original", ss[i].name, app[i].reused, len(orig))
		}
	}
	if lost := int64(len(orig)) - app[schemeCDC].reused; lost < 0 || lost > chunker.MaxSize {
		t.Errorf("(c) CDC: append loses %d B of the original, want at most its last chunk", lost)
	}
	const insert = 100_000
	edited := make([]byte, 0, len(orig)+insert)
	edited = append(edited, orig[:32<<20]...)
	edited = append(edited, randomBytes(insert)...)
	edited = append(edited, orig[32<<20:]...)
	ct.row(t, "(c) 100000 B inserted at 32 MiB (in-place edit; BanyanDB never does this)", backupAll(t, ss, [][]byte{edited}))

	t.Logf("new B = bytes a backup adds to the repository; reused B = bytes whose chunk the repository already held.\n"+
		"Candidates: fixed 4 MiB chunks (the format) and restic's chunker with its defaults (512 KiB-8 MiB, average 1 MiB).\n"+
		"ref columns are not candidates (an index of 2 KiB chunks is ~2000x larger): they bound what any granularity finds.\n"+
		"(a) %d + %d files; the largest is %d B, below restic's %d B minimum, so its chunker returns every file whole, exactly like 4 MiB chunks.\n"+
		"(b) merged part = two consecutive parts (seg N, N+1) of one group and shard, each file the concatenation of both parts' same-named files,\n"+
		"    backed up after the whole 0.11 tree; reused also counts merged files identical to an earlier merged file (e.g. tag.type twice).\n"+
		"    Concatenation keeps every source byte: a best case for chunking. Real merges decode every block, combine same-series blocks and re-encode.\n"+
		"(c) synthetic; BanyanDB part files are immutable, so of these only the first two rows happen to real data.\n%s",
		len(v0102), len(v011), max(largest0102, largest011), chunker.MinSize, ct.tb)
	t.Logf("cross-release reuse (0.11 after 0.10.2 minus 0.11 alone): fixed 4 MiB %d B, CDC %d B, ref fixed 2 KiB %d B, ref CDC small %d B",
		r2[schemeFixed].reused-alone[schemeFixed].reused, r2[schemeCDC].reused-alone[schemeCDC].reused,
		r2[schemeFixedSmall].reused-alone[schemeFixedSmall].reused, r2[schemeCDCSmall].reused-alone[schemeCDCSmall].reused)
}

// mergedSet is the simulated merges of one kind of part.
type mergedSet struct {
	label    string
	files    [][]byte
	srcBytes int64
	largest  int
	merged   int
}

// mergeParts writes, below a temporary directory, one merged part for every
// two consecutive parts (by segment) of the same group, shard and kind, and
// reads the merged files back. Parts are grouped by kind: the measure, stream
// and trace parts, and the trace ordered-index (sidx) parts.
func mergeParts(t *testing.T, files []treeFile) []mergedSet {
	t.Helper()
	type part struct {
		seg   string
		files map[string][]byte
	}
	// key: the part's path with the segment replaced by "*" and the part name dropped.
	parts := map[string]map[string]*part{} // key -> part dir -> part
	for _, f := range files {
		dir, name := path.Split(f.rel)
		dir = strings.TrimSuffix(dir, "/")
		if !isPartName(path.Base(dir)) {
			continue
		}
		elems := strings.Split(path.Dir(dir), "/")
		seg := -1
		for i, e := range elems {
			if strings.HasPrefix(e, "seg-") {
				seg = i
			}
		}
		if seg < 0 {
			continue
		}
		segName := elems[seg]
		elems[seg] = "*"
		key := strings.Join(elems, "/")
		if parts[key] == nil {
			parts[key] = map[string]*part{}
		}
		p := parts[key][dir]
		if p == nil {
			p = &part{seg: segName, files: map[string][]byte{}}
			parts[key][dir] = p
		}
		p.files[name] = f.data
	}

	tmp := t.TempDir()
	sets := map[string]*mergedSet{}
	var labels []string
	keys := make([]string, 0, len(parts))
	for k := range parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		var list []*part
		for _, p := range parts[key] {
			list = append(list, p)
		}
		sort.Slice(list, func(i, j int) bool { return list[i].seg < list[j].seg })
		label := strings.SplitN(key, "/", 2)[0] + " parts"
		if strings.Contains(key, "/sidx/") {
			label = strings.SplitN(key, "/", 2)[0] + " sidx parts"
		}
		set := sets[label]
		if set == nil {
			set = &mergedSet{}
			sets[label] = set
			labels = append(labels, label)
		}
		for i := 0; i+1 < len(list); i += 2 {
			a, b := list[i], list[i+1]
			dir := filepath.Join(tmp, filepath.FromSlash(strings.ReplaceAll(key, "*", a.seg+"+"+b.seg)), "merged")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			names := map[string]bool{}
			for n := range a.files {
				names[n] = true
			}
			for n := range b.files {
				names[n] = true
			}
			sorted := make([]string, 0, len(names))
			for n := range names {
				sorted = append(sorted, n)
			}
			sort.Strings(sorted)
			for _, n := range sorted {
				data := append(append([]byte(nil), a.files[n]...), b.files[n]...)
				set.srcBytes += int64(len(a.files[n]) + len(b.files[n]))
				p := filepath.Join(dir, n)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				back, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				set.files = append(set.files, back)
				set.largest = max(set.largest, len(back))
			}
			set.merged++
		}
	}
	out := make([]mergedSet, 0, len(labels))
	for _, l := range labels {
		set := sets[l]
		if set.merged == 0 {
			continue
		}
		set.label = fmt.Sprintf("%d merged %s (from %d)", set.merged, l, 2*set.merged)
		out = append(out, *set)
	}
	if len(out) == 0 {
		t.Fatal("no parts to merge")
	}
	return out
}

// chunkRandom returns 64 MiB of random data for the chunking benchmarks.
func chunkRandom(b *testing.B) []byte { return randomBuf(b, 64<<20) }

func BenchmarkChunkFixed(b *testing.B) {
	data := chunkRandom(b)
	var chunks int
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		chunks = 0
		for off := 0; off < len(data); off += fixedChunkSize {
			_ = blake3.Sum256(data[off:min(off+fixedChunkSize, len(data))])
			chunks++
		}
	}
	b.ReportMetric(float64(chunks), "chunks/op")
}

func BenchmarkChunkCDC(b *testing.B) {
	data := chunkRandom(b)
	c := chunker.New(bytes.NewReader(nil), testPol)
	buf := make([]byte, 0, chunker.MaxSize)
	var chunks int
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		chunks = 0
		c.Reset(bytes.NewReader(data), testPol)
		for {
			ch, err := c.Next(buf)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			_ = blake3.Sum256(ch.Data)
			buf = ch.Data
			chunks++
		}
	}
	b.ReportMetric(float64(chunks), "chunks/op")
}
