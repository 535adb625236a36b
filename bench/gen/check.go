package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// checker verifies that a root has the shape docs/banyandb.md describes and records
// what it counted and every problem it found.
type checker struct {
	root                            string
	groups, segments, shards, parts int
	problems                        []string
}

// problem records one finding.
func (c *checker) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// checkRoot runs every check on root.
func checkRoot(root string) *checker {
	c := &checker{root: root}
	for _, kind := range []catalogKind{measure, stream, trace} {
		groups, err := subdirs(filepath.Join(root, kind.String(), "data"), "")
		c.must(err)
		if len(groups) == 0 {
			c.problem("%s: no groups", kind)
		}
		for _, g := range groups {
			c.groups++
			c.checkGroup(kind, path.Join(kind.String(), "data", g))
		}
	}
	c.checkBlugeShards("property/data", "")
	c.checkBlugeShards("schema-property/data", "_schema")
	c.checkNoServerFiles()
	return c
}

// must records an unexpected I/O error.
func (c *checker) must(err error) {
	if err != nil {
		c.problem("%v", err)
	}
}

// checkGroup checks every segment of a group.
func (c *checker) checkGroup(kind catalogKind, rel string) {
	segs, err := subdirs(filepath.Join(c.root, rel), "seg-")
	c.must(err)
	for _, seg := range segs {
		c.segments++
		start, err := segmentStart(seg)
		if err != nil {
			c.problem("%s/%s: bad segment name", rel, seg)
			continue
		}
		end := c.checkSegmentMetadata(path.Join(rel, seg), start)
		shards, err := subdirs(filepath.Join(c.root, rel, seg), "shard-")
		c.must(err)
		for _, sh := range shards {
			c.checkShard(kind, path.Join(rel, seg, sh), start, end)
		}
	}
}

// checkSegmentMetadata checks a 1.5.0 segment metadata file and returns
// the segment's end.
func (c *checker) checkSegmentMetadata(rel string, start time.Time) time.Time {
	var m struct {
		Version string    `json:"version"`
		EndTime time.Time `json:"endTime"`
	}
	if err := readJSON(filepath.Join(c.root, rel, "metadata"), &m); err != nil {
		c.problem("%s: metadata: %v", rel, err)
		return start.AddDate(0, 0, 1)
	}
	if m.Version != "1.5.0" || !m.EndTime.After(start) {
		c.problem("%s: metadata version %q endTime %v", rel, m.Version, m.EndTime)
	}
	return m.EndTime
}

// checkShard checks that the newest .snp lists exactly the part
// directories, that there is one .snp, and every part.
func (c *checker) checkShard(kind catalogKind, rel string, start, end time.Time) {
	c.shards++
	entries, err := os.ReadDir(filepath.Join(c.root, rel))
	c.must(err)
	var dirs []uint64
	var snps []string
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && partDirRe.MatchString(name):
			n, _ := strconv.ParseUint(name, 16, 64)
			dirs = append(dirs, n)
		case shardSnpRe.MatchString(name):
			snps = append(snps, name)
		case kind == stream && name == "idx", kind == trace && (name == "sidx" || name == "finalize.json"):
		default:
			c.problem("%s: unexpected %s", rel, name)
		}
	}
	if len(snps) != 1 {
		c.problem("%s: %d .snp files, want 1", rel, len(snps))
	}
	if len(snps) > 0 {
		slices.Sort(snps)
		live, err := readSnp(filepath.Join(c.root, rel, snps[len(snps)-1]))
		c.must(err)
		slices.Sort(live)
		slices.Sort(dirs)
		if !slices.Equal(live, dirs) {
			c.problem("%s: .snp lists %v, part dirs are %v", rel, live, dirs)
		}
	}
	for _, n := range dirs {
		c.parts++
		c.checkPart(kind, path.Join(rel, partName(n)), start, end)
	}
	c.checkShardExtras(kind, rel, dirs)
}

// requiredFiles are the files every part of a catalog has besides its
// tag family / tag files.
var requiredFiles = map[catalogKind][]string{
	measure: {"metadata.json", "meta.bin", "primary.bin", "timestamps.bin", "fv.bin", "tag.type"},
	stream:  {"metadata.json", "meta.bin", "primary.bin", "timestamps.bin", "tag.type"},
	trace:   {"metadata.json", "meta.bin", "primary.bin", "spans.bin", "tag.type", "traceID.filter"},
}

// checkPart checks a part's files and its metadata.json.
func (c *checker) checkPart(kind catalogKind, rel string, start, end time.Time) {
	entries, err := os.ReadDir(filepath.Join(c.root, rel))
	c.must(err)
	have := map[string]bool{}
	var sum int64
	for _, e := range entries {
		have[e.Name()] = true
		if info, err := e.Info(); err == nil && e.Name() != "metadata.json" && e.Name() != "tag.type" {
			sum += info.Size()
		}
	}
	for _, f := range requiredFiles[kind] {
		if !have[f] {
			c.problem("%s: missing %s", rel, f)
		}
	}
	var m struct {
		CompressedSizeBytes int64 `json:"compressedSizeBytes"`
		MinTimestamp        int64 `json:"minTimestamp"`
		MaxTimestamp        int64 `json:"maxTimestamp"`
	}
	if err := readJSON(filepath.Join(c.root, rel, "metadata.json"), &m); err != nil {
		c.problem("%s: metadata.json: %v", rel, err)
		return
	}
	if m.CompressedSizeBytes != sum {
		c.problem("%s: compressedSizeBytes %d, files sum to %d", rel, m.CompressedSizeBytes, sum)
	}
	if m.MinTimestamp < start.UnixNano() || m.MaxTimestamp >= end.UnixNano() || m.MinTimestamp > m.MaxTimestamp {
		c.problem("%s: timestamps %d..%d outside the segment", rel, m.MinTimestamp, m.MaxTimestamp)
	}
}

// checkShardExtras checks stream idx/ and trace sidx/ and finalize.json.
func (c *checker) checkShardExtras(kind catalogKind, rel string, parts []uint64) {
	switch kind {
	case stream:
		c.checkBlugeDir(path.Join(rel, "idx"))
	case trace:
		if _, err := os.Stat(filepath.Join(c.root, rel, "finalize.json")); err != nil {
			c.problem("%s: no finalize.json", rel)
		}
		rules, err := subdirs(filepath.Join(c.root, rel, "sidx"), "")
		c.must(err)
		for _, r := range rules {
			for _, n := range parts {
				m := filepath.Join(c.root, rel, "sidx", r, partName(n), "manifest.json")
				if err := readJSON(m, &struct{}{}); err != nil {
					c.problem("%s: sidx/%s/%s: %v", rel, r, partName(n), err)
				}
			}
		}
	}
}

// checkBlugeShards checks the shards of the property-like catalogs.
func (c *checker) checkBlugeShards(rel, only string) {
	groups, err := subdirs(filepath.Join(c.root, rel), "")
	c.must(err)
	if len(groups) == 0 {
		c.problem("%s: no groups", rel)
	}
	for _, g := range groups {
		if only != "" && g != only {
			c.problem("%s: unexpected group %s", rel, g)
		}
		shards, _ := subdirs(filepath.Join(c.root, rel, g), "shard-")
		if len(shards) == 0 {
			c.problem("%s/%s: no shards", rel, g)
		}
		for _, s := range shards {
			c.checkBlugeDir(path.Join(rel, g, s))
		}
	}
}

// checkBlugeDir checks that a Bluge directory has one .snp and a .seg.
func (c *checker) checkBlugeDir(rel string) {
	entries, err := os.ReadDir(filepath.Join(c.root, rel))
	c.must(err)
	var seg, snp int
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".seg") {
			seg++
		} else if strings.HasSuffix(e.Name(), ".snp") {
			snp++
		}
	}
	if seg == 0 || snp != 1 {
		c.problem("%s: %d .seg and %d .snp files", rel, seg, snp)
	}
}

// checkNoServerFiles makes sure no lock, bluge.pid or temporary files exist.
func (c *checker) checkNoServerFiles() {
	err := filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := d.Name()
		if n == "lock" || n == "bluge.pid" || strings.HasSuffix(n, ".tmp") {
			c.problem("%s: server or temporary file", p)
		}
		return nil
	})
	c.must(err)
}

// readJSON decodes a JSON file.
func readJSON(file string, v any) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}
