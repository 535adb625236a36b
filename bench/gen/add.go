package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

var (
	partDirRe  = regexp.MustCompile(`^[0-9a-f]{16}$`)
	shardSnpRe = regexp.MustCompile(`^([0-9a-f]{16})\.snp$`)
	blugeRe    = regexp.MustCompile(`^([0-9a-f]{12})\.(seg|snp)$`)
)

// shardState is what addParts reads from an existing shard.
type shardState struct {
	kind     catalogKind
	rel      string // shard directory relative to the root
	segStart time.Time
	maxPart  uint64   // highest part number present or listed
	live     []uint64 // parts listed by the newest .snp
	epoch    uint64   // epoch of the newest .snp
	snps     []string // all .snp file names
	names    []string // tag families / tags of the newest part
	rules    []string // trace sidx rules
}

// addParts adds one new part to every shard of the latest data segment of
// each measure, stream and trace group, totalling percent % of the root's
// current bytes. Each shard is updated like BanyanDB does: part files,
// metadata.json last, a new .snp with a higher epoch, then the old .snp is
// deleted. Each touched segment's series index gains a new Bluge file.
func addParts(root string, percent float64, seed uint64, index contentKind, st *stats) (int, error) {
	total, err := treeBytes(root)
	if err != nil {
		return 0, err
	}
	shards, err := findLatestShards(root)
	if err != nil {
		return 0, err
	}
	if len(shards) == 0 {
		return 0, fmt.Errorf("%s: no measure, stream or trace shards found", root)
	}
	rng := rand.New(rand.NewPCG(seed, uint64(total)))
	budget := int64(float64(total) * percent / 100)
	sizes := splitBudget(budget, len(shards), rng)
	w := newWriter(root, seed, st)
	segBytes := map[string]int64{}
	for i, sh := range shards {
		if err := addPart(w, sh, sizes[i], seed, rng); err != nil {
			return 0, err
		}
		segBytes[path.Dir(sh.rel)] += sizes[i]
	}
	// The series index grows by about 1% of the new part bytes.
	for _, seg := range slices.Sorted(maps.Keys(segBytes)) {
		n := max(segBytes[seg]/100, 466)
		if err := addBlugeSeg(w, path.Join(seg, "sidx"), n, index); err != nil {
			return 0, err
		}
	}
	return len(shards), nil
}

// splitBudget splits budget into n random shares of at least minPartBytes.
func splitBudget(budget int64, n int, rng *rand.Rand) []int64 {
	w := make([]float64, n)
	var sum float64
	for i := range w {
		w[i] = math.Exp(rng.NormFloat64() * 0.8)
		sum += w[i]
	}
	sizes := make([]int64, n)
	for i := range w {
		sizes[i] = max(int64(float64(budget)*w[i]/sum), minPartBytes)
	}
	return sizes
}

// addPart writes one new part into a shard and publishes it.
func addPart(w *writer, sh *shardState, size int64, seed uint64, rng *rand.Rand) error {
	spec := partSpec{kind: sh.kind, shardRel: sh.rel, num: sh.maxPart + 1, size: size,
		names: sh.names, rules: sh.rules, segStart: sh.segStart, recent: true}
	dirs, files := buildPart(spec, seed)
	if err := w.run(job{dirs: dirs, files: files}); err != nil {
		return err
	}
	live := append(slices.Clone(sh.live), spec.num)
	epoch := sh.epoch + uint64(time.Second) + rng.Uint64N(uint64(time.Minute))
	if sh.kind == trace {
		if err := rewriteFile(w, path.Join(sh.rel, "finalize.json"), finalizeJSON(live, epoch)); err != nil {
			return err
		}
	}
	if err := w.writeFile(literal(path.Join(sh.rel, snpName(epoch)), snpList(live))); err != nil {
		return err
	}
	for _, old := range sh.snps {
		if err := os.Remove(filepath.Join(w.root, sh.rel, old)); err != nil {
			return err
		}
	}
	return nil
}

// rewriteFile replaces a file atomically (temporary file, then rename).
func rewriteFile(w *writer, rel string, data []byte) error {
	tmp := rel + ".tmp"
	_ = os.Remove(filepath.Join(w.root, tmp))
	if err := w.writeFile(literal(tmp, data)); err != nil {
		return err
	}
	w.stats.files.Add(-1) // a replacement, not a new file
	return os.Rename(filepath.Join(w.root, tmp), filepath.Join(w.root, rel))
}

// addBlugeSeg adds a new .seg file to a Bluge directory, writes a new .snp
// naming all segments and deletes the old .snp files.
func addBlugeSeg(w *writer, dir string, size int64, kind contentKind) error {
	entries, err := os.ReadDir(filepath.Join(w.root, dir))
	if err != nil {
		return err
	}
	var segs []blugeSeg
	var snps []string
	var top uint64
	for _, e := range entries {
		m := blugeRe.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		id, _ := strconv.ParseUint(m[1], 16, 64)
		top = max(top, id)
		if m[2] == "snp" {
			snps = append(snps, e.Name())
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		segs = append(segs, blugeSeg{id, info.Size()})
	}
	segs = append(segs, blugeSeg{top + 1, size})
	files := blugeDirFiles(dir, segs, kind)
	if err := w.run(job{files: files[len(files)-2:]}); err != nil { // new .seg, new .snp
		return err
	}
	for _, s := range snps {
		if err := os.Remove(filepath.Join(w.root, dir, s)); err != nil {
			return err
		}
	}
	return nil
}

// findLatestShards returns the shards of the newest segment that has
// shards, for every group of the part-based catalogs, in path order.
func findLatestShards(root string) ([]*shardState, error) {
	var out []*shardState
	for _, kind := range []catalogKind{measure, stream, trace} {
		groups, err := subdirs(filepath.Join(root, kind.String(), "data"), "")
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			shards, err := latestSegmentShards(root, kind, g)
			if err != nil {
				return nil, err
			}
			out = append(out, shards...)
		}
	}
	return out, nil
}

// latestSegmentShards reads the shards of the newest segment of a group.
func latestSegmentShards(root string, kind catalogKind, group string) ([]*shardState, error) {
	groupRel := path.Join(kind.String(), "data", group)
	segs, err := subdirs(filepath.Join(root, groupRel), "seg-")
	if err != nil {
		return nil, err
	}
	slices.Reverse(segs)
	for _, seg := range segs {
		segRel := path.Join(groupRel, seg)
		shards, err := subdirs(filepath.Join(root, segRel), "shard-")
		if err != nil || len(shards) == 0 {
			continue
		}
		start, err := segmentStart(seg)
		if err != nil {
			return nil, err
		}
		var out []*shardState
		for _, s := range shards {
			st, err := readShard(root, kind, path.Join(segRel, s), start, group)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
		return out, nil
	}
	return nil, nil
}

// segmentStart parses seg-YYYYMMDD or seg-YYYYMMDDHH (as UTC).
func segmentStart(name string) (time.Time, error) {
	s := strings.TrimPrefix(name, "seg-")
	layout := "20060102"
	if len(s) == 10 {
		layout = "2006010215"
	}
	return time.Parse(layout, s)
}

// readShard reads a shard's part numbers, live list and snapshot files.
func readShard(root string, kind catalogKind, rel string, start time.Time, group string) (*shardState, error) {
	entries, err := os.ReadDir(filepath.Join(root, rel))
	if err != nil {
		return nil, err
	}
	st := &shardState{kind: kind, rel: rel, segStart: start}
	var newest uint64
	for _, e := range entries {
		if e.IsDir() && partDirRe.MatchString(e.Name()) {
			n, _ := strconv.ParseUint(e.Name(), 16, 64)
			st.maxPart = max(st.maxPart, n)
			newest = max(newest, n)
		} else if m := shardSnpRe.FindStringSubmatch(e.Name()); m != nil {
			ep, _ := strconv.ParseUint(m[1], 16, 64)
			st.snps = append(st.snps, e.Name())
			st.epoch = max(st.epoch, ep)
		}
	}
	if len(st.snps) > 0 {
		live, err := readSnp(filepath.Join(root, rel, snpName(st.epoch)))
		if err != nil {
			return nil, err
		}
		st.live = live
		for _, n := range live {
			st.maxPart = max(st.maxPart, n)
		}
	}
	st.names = partNames(filepath.Join(root, rel, partName(newest)), kind, group)
	if kind == trace {
		st.rules, _ = subdirs(filepath.Join(root, rel, "sidx"), "")
		if len(st.rules) == 0 {
			st.rules = traceRules
		}
	}
	return st, nil
}

// readSnp parses a shard .snp (a JSON array of 16-hex part names).
func readSnp(file string) ([]uint64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	nums := make([]uint64, 0, len(names))
	for _, n := range names {
		v, err := strconv.ParseUint(n, 16, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: bad part name %q", file, n)
		}
		nums = append(nums, v)
	}
	return nums, nil
}

// partNames returns the tag families (.tf) or trace tags (.t) of an
// existing part, or the group's defaults when there is none.
func partNames(dir string, kind catalogKind, group string) []string {
	ext := ".tf"
	if kind == trace {
		ext = ".t"
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ext) {
			names = append(names, strings.TrimSuffix(e.Name(), ext))
		}
	}
	if len(names) > 0 {
		return names
	}
	for _, d := range groupDefs {
		if d.name == group {
			return d.names
		}
	}
	return []string{map[catalogKind]string{measure: "default", stream: "data", trace: "service_id"}[kind]}
}

// subdirs lists the directories in dir whose names start with prefix,
// sorted. A missing dir yields nothing.
func subdirs(dir, prefix string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// treeBytes sums the sizes of the regular files under root.
func treeBytes(root string) (int64, error) {
	var total int64
	err := filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err == nil {
			total += info.Size()
		}
		return err
	})
	return total, err
}
