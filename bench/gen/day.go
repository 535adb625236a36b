package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"
)

// partsPerDay is how many parts each shard of a new day's segment gets.
const partsPerDay = 3

// nextDay moves a root one day on, as a day of a node does, in every
// measure, stream and trace group:
//
//   - the segment created ahead for today (the newest, empty) receives the
//     shards of the newest segment holding data, each with partsPerDay new
//     parts as large in all as that shard's parts; its series index gets a
//     Bluge file, and stream shards their element index (idx/);
//   - in yesterday's segment, each shard's two newest parts are merged into
//     one new part (new bytes), listed by a new .snp, and deleted; its
//     stream element indexes gain a Bluge segment;
//   - a segment is created ahead for tomorrow (metadata, empty sidx/);
//   - the oldest segment expires (is deleted), as at a group's TTL.
//
// index is the kind of the new Bluge files. It returns the groups moved on.
func nextDay(root string, seed uint64, index contentKind, st *stats) (int, error) {
	w := newWriter(root, seed, st)
	n := 0
	for _, kind := range []catalogKind{measure, stream, trace} {
		groups, err := subdirs(filepath.Join(root, kind.String(), "data"), "")
		if err != nil {
			return 0, err
		}
		for _, g := range groups {
			moved, err := groupNextDay(w, kind, g, seed, index)
			if err != nil {
				return 0, fmt.Errorf("%s/%s: %w", kind, g, err)
			}
			if moved {
				n++
			}
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%s: no measure, stream or trace group with data", root)
	}
	return n, nil
}

// groupNextDay moves one group a day on; false if it has no data segment.
func groupNextDay(w *writer, kind catalogKind, group string, seed uint64, index contentKind) (bool, error) {
	groupRel := path.Join(kind.String(), "data", group)
	segs, err := subdirs(filepath.Join(w.root, groupRel), "seg-")
	if err != nil || len(segs) == 0 {
		return false, err
	}
	prev, err := latestSegmentShards(w.root, kind, group)
	if err != nil || len(prev) == 0 {
		return false, err
	}
	rng := rand.New(rand.NewPCG(seed, hashString(prev[0].rel)))
	today := prev[0].segStart.AddDate(0, 0, 1)
	todayRel := segRel(kind, group, today)
	if !slices.Contains(segs, path.Base(todayRel)) {
		if err := createSegment(w, todayRel, today); err != nil {
			return false, err
		}
	}
	var newBytes int64
	for _, sh := range prev {
		n, err := fillShard(w, sh, path.Join(todayRel, path.Base(sh.rel)), today, seed, index, rng)
		if err != nil {
			return false, err
		}
		newBytes += n
		if err := mergeNewest(w, sh, seed, index, rng); err != nil {
			return false, err
		}
	}
	if err := addBlugeSeg(w, path.Join(todayRel, "sidx"), max(newBytes/100, 466), index); err != nil {
		return false, err
	}
	tomorrow := today.AddDate(0, 0, 1)
	if err := createSegment(w, segRel(kind, group, tomorrow), tomorrow); err != nil {
		return false, err
	}
	segs, err = subdirs(filepath.Join(w.root, groupRel), "seg-")
	if err != nil {
		return false, err
	}
	if len(segs) > 3 {
		if err := os.RemoveAll(filepath.Join(w.root, groupRel, segs[0])); err != nil {
			return false, err
		}
	}
	return true, nil
}

// createSegment makes an empty segment, as a node creates the next one
// ahead: its metadata and an empty series index directory.
func createSegment(w *writer, rel string, day time.Time) error {
	return w.run(job{dirs: []string{rel, path.Join(rel, "sidx")},
		files: []file{literal(path.Join(rel, "metadata"), segmentMetadata(day))}})
}

// fillShard writes today's shard like yesterday's shard old: its parts as
// many bytes in all, its stream element index as large. It returns the
// bytes of the new parts.
func fillShard(w *writer, old *shardState, rel string, day time.Time, seed uint64, index contentKind, rng *rand.Rand) (int64, error) {
	partBytes, idxBytes, err := shardBytes(w.root, old)
	if err != nil {
		return 0, err
	}
	sh := &shardState{kind: old.kind, rel: rel, segStart: day, names: old.names, rules: old.rules,
		epoch: uint64(day.UnixNano())}
	if err := w.run(job{dirs: []string{rel}}); err != nil {
		return 0, err
	}
	if old.kind == stream {
		if err := w.run(job{dirs: []string{path.Join(rel, "idx")},
			files: blugeFiles(path.Join(rel, "idx"), max(idxBytes, 1024), 2, index, rng)}); err != nil {
			return 0, err
		}
	}
	sizes := splitBudget(max(partBytes, partsPerDay*minPartBytes), partsPerDay, rng)
	for _, size := range sizes {
		if err := addPart(w, sh, size, seed, rng); err != nil {
			return 0, err
		}
		if sh, err = readShard(w.root, sh.kind, rel, day, ""); err != nil {
			return 0, err
		}
		sh.names, sh.rules = old.names, old.rules
	}
	var n int64
	for _, s := range sizes {
		n += s
	}
	return n, nil
}

// shardBytes sums a shard's live parts and its stream element index.
func shardBytes(root string, sh *shardState) (parts, idx int64, err error) {
	for _, num := range sh.live {
		n, err := treeBytes(filepath.Join(root, sh.rel, partName(num)))
		if err != nil {
			return 0, 0, err
		}
		parts += n
	}
	if sh.kind == stream {
		idx, err = treeBytes(filepath.Join(root, sh.rel, "idx"))
	}
	return parts, idx, err
}

// mergeNewest merges the shard's two newest live parts into one new part,
// as large as both: the part is written, a new .snp lists it instead of
// them, then they are deleted. A stream shard's element index gains a
// Bluge segment a tenth of its size.
func mergeNewest(w *writer, sh *shardState, seed uint64, index contentKind, rng *rand.Rand) error {
	live := slices.Sorted(slices.Values(sh.live))
	if len(live) < 2 {
		return nil
	}
	merged := live[len(live)-2:]
	var size int64
	for _, num := range merged {
		n, err := treeBytes(filepath.Join(w.root, sh.rel, partName(num)))
		if err != nil {
			return err
		}
		size += n
	}
	keep := &shardState{kind: sh.kind, rel: sh.rel, segStart: sh.segStart, maxPart: sh.maxPart,
		live: live[:len(live)-2], epoch: sh.epoch, snps: sh.snps, names: sh.names, rules: sh.rules}
	if err := addPart(w, keep, max(size*9/10, minPartBytes), seed, rng); err != nil {
		return err
	}
	for _, num := range merged {
		if err := removePart(w.root, sh, num); err != nil {
			return err
		}
	}
	if sh.kind == stream {
		idx := path.Join(sh.rel, "idx")
		n, err := treeBytes(filepath.Join(w.root, idx))
		if err != nil {
			return err
		}
		return addBlugeSeg(w, idx, max(n/10, 1024), index)
	}
	return nil
}

// removePart deletes a part directory and, in a trace shard, its ordered
// index parts.
func removePart(root string, sh *shardState, num uint64) error {
	if err := os.RemoveAll(filepath.Join(root, sh.rel, partName(num))); err != nil {
		return err
	}
	for _, r := range sh.rules {
		if err := os.RemoveAll(filepath.Join(root, sh.rel, "sidx", r, partName(num))); err != nil {
			return err
		}
	}
	return nil
}
