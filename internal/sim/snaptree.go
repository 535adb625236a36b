package sim

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// finalizeName is the file a trace shard rewrites in place.
const finalizeName = "finalize.json"

// snapshotSegmentCatalog fills dst (<snapshots>/<name>) with the groups of a
// measure, stream or trace data directory: <group>/seg-…/…. Groups without
// a segment are skipped.
func snapshotSegmentCatalog(dataDir, dst string, t target, links *linkList) error {
	groups, err := os.ReadDir(dataDir)
	if err != nil {
		return fmt.Errorf("cannot list groups: %w", err)
	}
	for _, g := range groups {
		if !g.IsDir() || (t.groups != nil && !t.groups[g.Name()]) {
			continue
		}
		if err := snapshotGroup(t.catalog, filepath.Join(dataDir, g.Name()), filepath.Join(dst, g.Name()), links); err != nil {
			return err
		}
	}
	return nil
}

// snapshotGroup snapshots every segment (a seg-… directory with a metadata
// file) of one group; the group's lock is left out.
func snapshotGroup(c banyandb.Catalog, src, dst string, links *linkList) error {
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cannot list segments: %w", err)
	}
	var segs []string
	for _, e := range entries {
		if e.IsDir() && strings.HasPrefix(e.Name(), banyandb.SegmentPrefix) &&
			isRegular(filepath.Join(src, e.Name(), segmentMetaName)) {
			segs = append(segs, e.Name())
		}
	}
	for _, seg := range segs {
		if err := snapshotSegment(c, filepath.Join(src, seg), filepath.Join(dst, seg), links); err != nil {
			return err
		}
	}
	return nil
}

// snapshotSegment hard-links the segment's metadata, copies its sidx/ Bluge
// index and snapshots each shard; external-segment-temp/ is left out. The
// segment's own files and each shard are cut under the server's lock.
func snapshotSegment(c banyandb.Catalog, src, dst string, links *linkList) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", dst, err)
	}
	err := links.cut(func() error {
		if err := os.Link(filepath.Join(src, segmentMetaName), filepath.Join(dst, segmentMetaName)); err != nil {
			return fmt.Errorf("cannot link segment metadata: %w", err)
		}
		if isDir(filepath.Join(src, sidxName)) {
			return copyBlugeDir(filepath.Join(src, sidxName), filepath.Join(dst, sidxName))
		}
		return nil
	})
	if err != nil {
		return err
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cannot list segment: %w", err)
	}
	group := filepath.Base(filepath.Dir(src))
	for _, e := range entries {
		if n, ok := shardNumber(e.Name()); !ok || !e.IsDir() || !links.shardLoaded(group, n) {
			continue
		}
		err := links.cut(func() error {
			return snapshotShard(c, filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), links)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// snapshotShard hard-links (through links) the parts listed in the shard's
// newest .snp and writes the snapshot's .snp: those parts and the shard's
// parts still in memory, which are not flushed and so not linked
// (docs/banyandb.md, Snapshots). It is named for the epoch of the
// in-memory part list when parts are in memory, else for the newest .snp's
// (whose copy it then is). Stream shards' idx/ is copied; trace shards'
// sidx/<rule>/<part> are hard-linked and finalize.json is copied.
// Everything else (older .snp, parts no longer listed, failed-parts/,
// temporary files) is left out.
func snapshotShard(c banyandb.Catalog, src, dst string, links *linkList) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", dst, err)
	}
	snpName, epoch, parts, err := newestSnp(src)
	if err != nil {
		return err
	}
	for _, p := range parts {
		if !isRegular(filepath.Join(src, p, banyandb.PartMetadataFile)) {
			return fmt.Errorf("cannot snapshot part %s: listed in %s but has no %s",
				filepath.Join(src, p), snpName, banyandb.PartMetadataFile)
		}
		links.add(filepath.Join(src, p), filepath.Join(dst, p))
	}
	listed := parts
	if mem, memEpoch := links.memOf(src); len(mem) > 0 {
		listed = append(append([]string{}, parts...), mem...)
		snpName = fmt.Sprintf("%016x.snp", max(epoch, memEpoch))
	}
	if snpName != "" {
		b, err := json.Marshal(listed)
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, snpName), b, 0o644)
		}
		if err != nil {
			return fmt.Errorf("cannot write part list of snapshot: %w", err)
		}
	}
	switch c {
	case banyandb.Stream:
		if isDir(filepath.Join(src, streamIdxName)) {
			return copyBlugeDir(filepath.Join(src, streamIdxName), filepath.Join(dst, streamIdxName))
		}
	case banyandb.Trace:
		if isRegular(filepath.Join(src, finalizeName)) {
			if err := copyFile(filepath.Join(src, finalizeName), filepath.Join(dst, finalizeName)); err != nil {
				return err
			}
		}
		return snapshotTraceIndex(filepath.Join(src, sidxName), filepath.Join(dst, sidxName), links)
	}
	return nil
}

// snapshotTraceIndex hard-links the complete parts (with manifest.json) of
// every rule of a trace shard's sidx/.
func snapshotTraceIndex(src, dst string, links *linkList) error {
	rules, err := os.ReadDir(src)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot list trace index: %w", err)
	}
	for _, r := range rules {
		if !r.IsDir() {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dst, r.Name()), 0o755); err != nil {
			return fmt.Errorf("cannot create trace index snapshot: %w", err)
		}
		parts, err := os.ReadDir(filepath.Join(src, r.Name()))
		if err != nil {
			return fmt.Errorf("cannot list trace index: %w", err)
		}
		for _, p := range parts {
			from := filepath.Join(src, r.Name(), p.Name())
			if !p.IsDir() || !banyandb.IsPartName(p.Name()) || !isRegular(filepath.Join(from, banyandb.SidxManifestFile)) || links.isDoomed(from) {
				continue
			}
			links.add(from, filepath.Join(dst, r.Name(), p.Name()))
		}
	}
	return nil
}

// snapshotBlugeCatalog fills dst (<snapshots>/<name>/data) with copies of
// the Bluge shards of a property or schema-property data directory:
// <group>/shard-N/…. Groups without a file to copy are skipped.
func snapshotBlugeCatalog(dataDir, dst string, t target) error {
	groups, err := os.ReadDir(dataDir)
	if err != nil {
		return fmt.Errorf("cannot list groups: %w", err)
	}
	for _, g := range groups {
		if _, isShard := shardNumber(g.Name()); !g.IsDir() || isShard || (t.groups != nil && !t.groups[g.Name()]) {
			continue
		}
		shards, err := os.ReadDir(filepath.Join(dataDir, g.Name()))
		if err != nil {
			return fmt.Errorf("cannot list shards: %w", err)
		}
		for _, sh := range shards {
			if _, ok := shardNumber(sh.Name()); !ok || !sh.IsDir() {
				continue
			}
			from := filepath.Join(dataDir, g.Name(), sh.Name())
			if !hasIndexFile(from) {
				continue
			}
			if err := copyBlugeDir(from, filepath.Join(dst, g.Name(), sh.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyBlugeDir copies the files of a Bluge index directory but bluge.pid,
// lock and temporary files. Like a real server, it writes each .seg anew
// rather than copying its bytes: the same size, the last 4 bytes (a
// checksum) differing from the live file's, and the same bytes every time
// for the same live file (docs/banyandb.md, Snapshots). An index with neither .seg nor .snp gets the
// empty .snp a real server's snapshot writes (000000000000.snp).
func copyBlugeDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", dst, err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cannot list index: %w", err)
	}
	for _, e := range entries {
		if skippedFile(e.Name()) || !e.Type().IsRegular() {
			continue
		}
		write := copyFile
		if strings.HasSuffix(e.Name(), blugeSegSuffix) {
			write = rewriteBlugeSeg
		}
		if err := write(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return err
		}
	}
	if !hasIndexFile(src) {
		if err := os.WriteFile(filepath.Join(dst, blugeName(0, blugeSnpSuffix)), blugeSnapshot(nil), 0o644); err != nil {
			return fmt.Errorf("cannot write empty index snapshot: %w", err)
		}
	}
	return nil
}

// hasIndexFile reports whether dir holds a Bluge .seg or .snp file.
func hasIndexFile(dir string) bool {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if _, _, ok := parseBlugeName(e.Name()); ok && e.Type().IsRegular() {
			return true
		}
	}
	return false
}

// skippedFile reports whether a snapshot leaves out a file of this name.
func skippedFile(name string) bool {
	return name == lockFileName || name == blugePIDName || strings.HasSuffix(name, tmpSuffix)
}

// linkDir recreates the directory src at dst with a hard link for every
// regular file, recursively.
func linkDir(src, dst string) error {
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", dst, err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cannot list part: %w", err)
	}
	for _, e := range entries {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		switch {
		case e.IsDir():
			if err := linkDir(from, to); err != nil {
				return err
			}
		case e.Type().IsRegular() && !strings.HasSuffix(e.Name(), tmpSuffix):
			if err := os.Link(from, to); err != nil {
				return fmt.Errorf("cannot link part file: %w", err)
			}
		}
	}
	return nil
}

// copyFile copies the regular file src to the new file dst, with its
// permission bits.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("cannot copy %s: %w", src, err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("cannot copy %s: %w", src, err)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("cannot copy %s: %w", src, err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("cannot copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("cannot copy %s: %w", src, err)
	}
	return nil
}

// rewriteBlugeSeg writes a snapshot's copy of the Bluge segment file src:
// its bytes but the last 4, which are a checksum of the others that the
// live file does not end with.
func rewriteBlugeSeg(src, dst string) error {
	if err := copyFile(src, dst); err != nil {
		return err
	}
	f, err := os.OpenFile(dst, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", dst, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < 4 {
		return err
	}
	h := crc32.NewIEEE()
	if _, err := io.CopyN(h, f, st.Size()-4); err != nil {
		return fmt.Errorf("cannot write %s: %w", dst, err)
	}
	sum := binary.BigEndian.AppendUint32(nil, h.Sum32()^0x5a17c0de)
	if _, err := f.WriteAt(sum, st.Size()-4); err != nil {
		return fmt.Errorf("cannot write %s: %w", dst, err)
	}
	return f.Close()
}

func isRegular(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode().IsRegular()
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}
