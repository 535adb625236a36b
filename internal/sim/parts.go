package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// maxMergeParts is the most parts one merge combines.
const maxMergeParts = 16

// partMeta is a measure or stream part's metadata.json.
type partMeta struct {
	CompressedSizeBytes   uint64 `json:"compressedSizeBytes"`
	UncompressedSizeBytes uint64 `json:"uncompressedSizeBytes"`
	TotalCount            uint64 `json:"totalCount"`
	BlocksCount           uint64 `json:"blocksCount"`
	MinTimestamp          int64  `json:"minTimestamp"`
	MaxTimestamp          int64  `json:"maxTimestamp"`
}

// tracePartMeta is a trace part's metadata.json.
type tracePartMeta struct {
	CompressedSizeBytes       uint64 `json:"compressedSizeBytes"`
	UncompressedSpanSizeBytes uint64 `json:"uncompressedSpanSizeBytes"`
	TotalCount                uint64 `json:"totalCount"`
	BlocksCount               uint64 `json:"blocksCount"`
	MinTimestamp              int64  `json:"minTimestamp"`
	MaxTimestamp              int64  `json:"maxTimestamp"`
}

// sidxManifest is a trace index part's manifest.json.
type sidxManifest struct {
	MinTimestamp          int64  `json:"minTimestamp"`
	MaxTimestamp          int64  `json:"maxTimestamp"`
	CompressedSizeBytes   uint64 `json:"compressedSizeBytes"`
	UncompressedSizeBytes uint64 `json:"uncompressedSizeBytes"`
	TotalCount            uint64 `json:"totalCount"`
	BlocksCount           uint64 `json:"blocksCount"`
	MinKey                int64  `json:"minKey"`
	MaxKey                int64  `json:"maxKey"`
	ID                    uint64 `json:"id"`
	SegmentID             int64  `json:"segmentID"`
}

// marshalPartMeta writes m in the metadata.json form of catalog c.
func marshalPartMeta(c banyandb.Catalog, m banyandb.PartMetadata) []byte {
	var v any = partMeta{m.CompressedSizeBytes, m.UncompressedSizeBytes, m.TotalCount, m.BlocksCount, m.MinTimestamp, m.MaxTimestamp}
	if c == banyandb.Trace {
		v = tracePartMeta{m.CompressedSizeBytes, m.UncompressedSpanSizeBytes, m.TotalCount, m.BlocksCount, m.MinTimestamp, m.MaxTimestamp}
	}
	b, _ := json.Marshal(v) // plain structs always marshal
	return b
}

// writePart writes a new part directory: the template's files with
// pseudo-random bytes, then metadata.json, the commit marker, last.
func (s *Server) writePart(g *group, dir string, minTS, maxTS time.Time) error {
	n, err := s.writeRandomFiles(dir, g.files)
	if err != nil {
		return err
	}
	m := banyandb.PartMetadata{
		CompressedSizeBytes:   uint64(n),
		UncompressedSizeBytes: uint64(n) * 8,
		TotalCount:            uint64(max(1, n/64)),
		BlocksCount:           uint64(1 + n/8192),
		MinTimestamp:          minTS.UnixNano(),
		MaxTimestamp:          maxTS.UnixNano(),
	}
	if g.catalog == banyandb.Trace {
		m.UncompressedSpanSizeBytes, m.UncompressedSizeBytes = m.UncompressedSizeBytes, 0
	}
	return s.writeCounted(filepath.Join(dir, banyandb.PartMetadataFile), marshalPartMeta(g.catalog, m))
}

// writeSidxPart writes a new trace index part, manifest.json last.
func (s *Server) writeSidxPart(dir string, tpl []fileSpec, seg *segment, minTS, maxTS time.Time, id uint64) error {
	n, err := s.writeRandomFiles(dir, tpl)
	if err != nil {
		return err
	}
	m := sidxManifest{MinTimestamp: minTS.UnixNano(), MaxTimestamp: maxTS.UnixNano(),
		CompressedSizeBytes: uint64(n), UncompressedSizeBytes: uint64(n) * 3, TotalCount: uint64(max(1, n/32)),
		BlocksCount: uint64(1 + n/8192), MinKey: 1, MaxKey: 500, ID: id, SegmentID: seg.start.UnixNano()}
	b, _ := json.Marshal(m)
	return s.writeCounted(filepath.Join(dir, banyandb.SidxManifestFile), b)
}

// writeRandomFiles creates dir and writes the files of tpl into it, their
// sizes scaled so that the whole is about the workload's PartSize (files
// under 64 bytes keep their size), each with ±25% jitter. It returns the
// bytes written.
func (s *Server) writeRandomFiles(dir string, tpl []fileSpec) (int64, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("cannot create part %s: %w", dir, err)
	}
	var small, big int64
	for _, f := range tpl {
		if f.size < 64 {
			small += f.size
		} else {
			big += f.size
		}
	}
	budget := max(s.cfg.Workload.PartSize-small, 0)
	var total int64
	for _, f := range tpl {
		size := f.size
		if size >= 64 && big > 0 {
			size = max(64, int64(float64(budget)*float64(f.size)/float64(big)))
			size += int64(s.rnd.Uint64()%uint64(size/2+1)) - size/4
		}
		b := make([]byte, size)
		_, _ = s.rnd.Read(b) // ChaCha8.Read never fails
		if err := s.writeCounted(filepath.Join(dir, f.name), b); err != nil {
			return total, err
		}
		total += size
	}
	return total, nil
}

// writeCounted writes a new file and counts its bytes in the statistics.
func (s *Server) writeCounted(path string, b []byte) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	s.stats.bytesWritten.Add(int64(len(b)))
	return nil
}

// nextEpoch is the epoch of a shard's next part list: above that of its
// live .snp and of its in-memory part list, and at least the wall clock in
// nanoseconds.
func (s *Server) nextEpoch(sh *shard) uint64 {
	return max(max(sh.epoch, sh.memEpoch)+1, uint64(s.now().UnixNano()))
}

// writeSnp publishes a shard's new live part list, the flushed parts:
// <epoch>.snp with an epoch above the previous ones (written to a .tmp
// file, then renamed), then deletes the older .snp files. Parts held in
// memory are never in it (docs/banyandb.md, Server startup: a live root
// whose .snp names a part it lacks has lost data).
func (s *Server) writeSnp(sh *shard, parts []string) error {
	epoch := s.nextEpoch(sh)
	b, err := json.Marshal(parts)
	if err != nil {
		return fmt.Errorf("cannot write part list: %w", err)
	}
	final := filepath.Join(sh.dir, fmt.Sprintf("%016x.snp", epoch))
	if err := writeFileAtomic(final, b); err != nil {
		return fmt.Errorf("cannot write part list: %w", err)
	}
	sh.epoch, sh.parts = epoch, parts
	entries, err := os.ReadDir(sh.dir)
	if err != nil {
		return fmt.Errorf("cannot list %s: %w", sh.dir, err)
	}
	for _, e := range entries {
		if ep, ok := banyandb.SnpEpoch(e.Name()); ok && ep < epoch {
			if err := os.Remove(filepath.Join(sh.dir, e.Name())); err != nil {
				return fmt.Errorf("cannot delete old part list: %w", err)
			}
		}
	}
	return nil
}

// writeFileAtomic writes path through path.tmp and a rename.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + tmpSuffix
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// mergeLocked merges parts in every shard of every segment of the written
// groups that has at least two live parts.
func (s *Server) mergeLocked() error {
	for _, g := range s.groups {
		if !g.write {
			continue
		}
		for _, seg := range g.sortedSegments() {
			for _, n := range sortedShardNumbers(seg) {
				sh := seg.shards[n]
				if src := pickMerge(sh); len(src) >= 2 {
					if err := s.mergeShard(g, seg, sh, src); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// pickMerge chooses the live parts of sh to merge, tiered like an LSM
// tree so that the part count stays about logarithmic in the data without
// rewriting big parts at every merge: by size, smallest first, each next
// part taken while it is at most twice the size of those taken so far, up
// to maxMergeParts. Fewer than two means no merge.
func pickMerge(sh *shard) []string {
	if len(sh.parts) < 2 {
		return nil
	}
	type sized struct {
		name string
		size uint64
	}
	parts := make([]sized, 0, len(sh.parts))
	for _, p := range sh.parts {
		var size uint64
		if b, err := os.ReadFile(filepath.Join(sh.dir, p, banyandb.PartMetadataFile)); err == nil {
			if m, err := banyandb.ParsePartMetadata(b); err == nil {
				size = m.CompressedSizeBytes
			}
		}
		parts = append(parts, sized{p, size})
	}
	sort.SliceStable(parts, func(i, j int) bool { return parts[i].size < parts[j].size })
	out := []string{parts[0].name}
	sum := parts[0].size
	for _, p := range parts[1:] {
		if len(out) == maxMergeParts || p.size > 2*max(sum, 1) {
			break
		}
		out = append(out, p.name)
		sum += p.size
	}
	return out
}

// mergeShard replaces the live parts src of sh by one new part: it writes
// the new part (each file the concatenation of the merged parts'), then a
// .snp without the merged parts and with the new one, then deletes the
// merged part directories. Trace index parts of the same names are merged
// alongside.
func (s *Server) mergeShard(g *group, seg *segment, sh *shard, src []string) error {
	name := partName(sh.next)
	sh.next++
	var oldDirs []string
	for _, rule := range g.rules {
		ruleDir := filepath.Join(sh.dir, sidxName, rule)
		dirs := existingDirs(ruleDir, src)
		if len(dirs) == 0 {
			continue
		}
		if err := s.mergeSidx(dirs, filepath.Join(ruleDir, name), seg, sh.next-1); err != nil {
			return err
		}
		oldDirs = append(oldDirs, dirs...)
	}
	partDirs := existingDirs(sh.dir, src)
	if len(partDirs) != len(src) {
		return fmt.Errorf("cannot merge parts in %s: a part listed in the .snp is missing", sh.dir)
	}
	n, err := s.concatFiles(partDirs, filepath.Join(sh.dir, name), banyandb.PartMetadataFile)
	if err != nil {
		return err
	}
	m := banyandb.PartMetadata{CompressedSizeBytes: uint64(n)}
	for i, d := range partDirs {
		b, err := os.ReadFile(filepath.Join(d, banyandb.PartMetadataFile))
		if err != nil {
			return fmt.Errorf("cannot merge part %s: %w", d, err)
		}
		pm, err := banyandb.ParsePartMetadata(b)
		if err != nil {
			return fmt.Errorf("cannot merge part %s: %w", d, err)
		}
		if i == 0 || pm.MinTimestamp < m.MinTimestamp {
			m.MinTimestamp = pm.MinTimestamp
		}
		m.MaxTimestamp = max(m.MaxTimestamp, pm.MaxTimestamp)
		m.UncompressedSizeBytes += pm.UncompressedSizeBytes
		m.UncompressedSpanSizeBytes += pm.UncompressedSpanSizeBytes
		m.TotalCount += pm.TotalCount
		m.BlocksCount += pm.BlocksCount
	}
	if err := s.writeCounted(filepath.Join(sh.dir, name, banyandb.PartMetadataFile), marshalPartMeta(g.catalog, m)); err != nil {
		return err
	}
	live := make([]string, 0, len(sh.parts)-len(src)+1)
	for _, p := range sh.parts {
		if !slices.Contains(src, p) {
			live = append(live, p)
		}
	}
	live = append(live, name)
	if err := s.writeSnp(sh, live); err != nil {
		return err
	}
	for _, d := range append(partDirs, oldDirs...) {
		if err := s.removePart(d); err != nil {
			return err
		}
	}
	s.stats.merges.Add(1)
	s.stats.partsWritten.Add(1)
	s.stats.partsMerged.Add(int64(len(src)))
	return nil
}

// mergeSidx merges trace index parts into dst, manifest.json last.
func (s *Server) mergeSidx(dirs []string, dst string, seg *segment, id uint64) error {
	n, err := s.concatFiles(dirs, dst, banyandb.SidxManifestFile)
	if err != nil {
		return err
	}
	m := sidxManifest{CompressedSizeBytes: uint64(n), ID: id, SegmentID: seg.start.UnixNano(), MinKey: 1, MaxKey: 500}
	for i, d := range dirs {
		var pm sidxManifest
		b, err := os.ReadFile(filepath.Join(d, banyandb.SidxManifestFile))
		if err == nil {
			err = json.Unmarshal(b, &pm)
		}
		if err != nil {
			return fmt.Errorf("cannot merge index part %s: %w", d, err)
		}
		if i == 0 || pm.MinTimestamp < m.MinTimestamp {
			m.MinTimestamp = pm.MinTimestamp
		}
		m.MaxTimestamp = max(m.MaxTimestamp, pm.MaxTimestamp)
		m.UncompressedSizeBytes += pm.UncompressedSizeBytes
		m.TotalCount += pm.TotalCount
		m.BlocksCount += pm.BlocksCount
	}
	b, _ := json.Marshal(m)
	return s.writeCounted(filepath.Join(dst, banyandb.SidxManifestFile), b)
}

// concatFiles creates dst and writes into it, for every file name found in
// the source directories but marker, the concatenation of the sources'
// files of that name. It returns the bytes written.
func (s *Server) concatFiles(srcDirs []string, dst, marker string) (int64, error) {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return 0, fmt.Errorf("cannot create part %s: %w", dst, err)
	}
	names := map[string]bool{}
	for _, d := range srcDirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			return 0, fmt.Errorf("cannot merge part %s: %w", d, err)
		}
		for _, e := range entries {
			if e.Type().IsRegular() && e.Name() != marker {
				names[e.Name()] = true
			}
		}
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	var total int64
	for _, name := range sorted {
		n, err := concatFile(srcDirs, name, filepath.Join(dst, name))
		total += n
		if err != nil {
			return total, err
		}
	}
	s.stats.bytesWritten.Add(total)
	return total, nil
}

// concatFile writes to dst the files named name of srcDirs, one after the
// other; a directory without such a file is skipped.
func concatFile(srcDirs []string, name, dst string) (int64, error) {
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return 0, fmt.Errorf("cannot merge %s: %w", name, err)
	}
	var total int64
	for _, d := range srcDirs {
		in, err := os.Open(filepath.Join(d, name))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			out.Close()
			return total, fmt.Errorf("cannot merge %s: %w", name, err)
		}
		n, err := io.Copy(out, in)
		in.Close()
		total += n
		if err != nil {
			out.Close()
			return total, fmt.Errorf("cannot merge %s: %w", name, err)
		}
	}
	if err := out.Close(); err != nil {
		return total, fmt.Errorf("cannot merge %s: %w", name, err)
	}
	return total, nil
}

// existingDirs returns dir/<name> for each name that is a directory.
func existingDirs(dir string, names []string) []string {
	var out []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			out = append(out, p)
		}
	}
	return out
}
