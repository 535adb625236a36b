package sim

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// Bluge index files: <12 hex digits>.seg (immutable segments) and
// <12 hex digits>.snp (the list of live segments; the highest wins).
const (
	blugeSegSuffix = ".seg"
	blugeSnpSuffix = ".snp"
	// maxBlugeSegs is how many .seg files an index keeps before the
	// simulator merges them into one.
	maxBlugeSegs = 3
	// blugeSnapshotVersion starts a Bluge .snp file.
	blugeSnapshotVersion = 3
)

// blugeLocked changes the Bluge indexes of the current segment of every
// written group: the segment's sidx/ and, for stream, each shard's idx/.
func (s *Server) blugeLocked() error {
	for _, gs := range s.currentSegments() {
		dirs := []string{filepath.Join(gs.seg.dir, sidxName)}
		if gs.g.catalog == banyandb.Stream {
			for _, n := range sortedShardNumbers(gs.seg) {
				dirs = append(dirs, filepath.Join(gs.seg.shards[n].dir, streamIdxName))
			}
		}
		for _, d := range dirs {
			if err := s.blugeStep(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// blugeStep adds a new .seg file to the Bluge index in dir, or, when it
// already has maxBlugeSegs, replaces them all by one bigger file; then it
// writes a new .snp listing the live .seg files and deletes the older .snp
// and the replaced .seg files, as Bluge does.
func (s *Server) blugeStep(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot change index %s: %w", dir, err)
	}
	segs, snps, highest, err := listBluge(dir)
	if err != nil {
		return err
	}
	size := int64(512 + s.rnd.Uint64()%1024)
	var replaced []uint64
	if len(segs) >= maxBlugeSegs {
		for _, id := range segs {
			if fi, err := os.Stat(filepath.Join(dir, blugeName(id, blugeSegSuffix))); err == nil {
				size += fi.Size()
			}
		}
		replaced, segs = segs, nil
	}
	newSeg := highest + 1
	b := make([]byte, size)
	_, _ = s.rnd.Read(b)
	if err := s.writeCounted(filepath.Join(dir, blugeName(newSeg, blugeSegSuffix)), b); err != nil {
		return err
	}
	segs = append(segs, newSeg)
	snp := blugeSnapshot(segs)
	if err := writeFileAtomic(filepath.Join(dir, blugeName(newSeg+1, blugeSnpSuffix)), snp); err != nil {
		return fmt.Errorf("cannot change index %s: %w", dir, err)
	}
	s.stats.bytesWritten.Add(int64(len(snp)))
	for _, id := range snps {
		if err := os.Remove(filepath.Join(dir, blugeName(id, blugeSnpSuffix))); err != nil {
			return fmt.Errorf("cannot change index %s: %w", dir, err)
		}
	}
	for _, id := range replaced {
		if err := os.Remove(filepath.Join(dir, blugeName(id, blugeSegSuffix))); err != nil {
			return fmt.Errorf("cannot change index %s: %w", dir, err)
		}
	}
	s.stats.blugeFiles.Add(1)
	return nil
}

// listBluge returns the ids of the .seg and .snp files of a Bluge index
// directory, in order, and the highest id of either.
func listBluge(dir string) (segs, snps []uint64, highest uint64, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("cannot list index %s: %w", dir, err)
	}
	for _, e := range entries {
		id, suffix, ok := parseBlugeName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		highest = max(highest, id)
		if suffix == blugeSegSuffix {
			segs = append(segs, id)
		} else {
			snps = append(snps, id)
		}
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i] < segs[j] })
	sort.Slice(snps, func(i, j int) bool { return snps[i] < snps[j] })
	return segs, snps, highest, nil
}

// parseBlugeName parses <12 hex digits>.seg or .snp.
func parseBlugeName(name string) (id uint64, suffix string, ok bool) {
	for _, suf := range []string{blugeSegSuffix, blugeSnpSuffix} {
		hex, found := strings.CutSuffix(name, suf)
		if !found || len(hex) != 12 {
			continue
		}
		v, err := strconv.ParseUint(hex, 16, 64)
		if err != nil || strings.ToLower(hex) != hex {
			return 0, "", false
		}
		return v, suf, true
	}
	return 0, "", false
}

// blugeName formats a Bluge file name.
func blugeName(id uint64, suffix string) string {
	return fmt.Sprintf("%012x%s", id, suffix)
}

// blugeSnapshot encodes a Bluge-like .snp: the format version, the number of
// segments and their ids as uvarints, then the CRC-32 (IEEE, big endian) of
// what precedes. With no segment it is the 6 bytes a real server writes for
// an empty index.
func blugeSnapshot(segs []uint64) []byte {
	b := []byte{blugeSnapshotVersion}
	b = binary.AppendUvarint(b, uint64(len(segs)))
	for _, id := range segs {
		b = binary.AppendUvarint(b, id)
	}
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}
