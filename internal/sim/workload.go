package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// runWorkload calls Step every FlushInterval until ctx is done. A failed
// step is counted and remembered in Stats; the workload goes on.
func (s *Server) runWorkload(ctx context.Context) {
	t := time.NewTicker(s.cfg.Workload.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Step(ctx); err != nil && ctx.Err() == nil {
				s.stats.noteError(err)
			}
		}
	}
}

// Step runs one step of the workload, as the background workload does every
// FlushInterval: a flush of the parts the previous steps wrote, a write of
// the next ClockStep of rows into new parts held in memory (one per shard
// of the current segment of every written group), then a merge, a Bluge
// index change and a move to the next segment window when their counts of
// steps are reached.
//
// So between two steps, as on a server under a steady write load, every
// written shard holds one part in memory: the shard's live .snp (written by
// flushes and merges) does not list it and it has no directory yet, but a
// snapshot's .snp lists it (docs/banyandb.md, Snapshots).
func (s *Server) Step(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot run workload step: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.cfg.Cluster.Role {
	case RoleData:
		return s.maintainLocked()
	case RoleLiaison:
		defer s.kickSender()
		return s.liaisonStepLocked()
	}
	if err := s.flushMemLocked(); err != nil {
		return err
	}
	if err := s.writeLocked(); err != nil {
		return err
	}
	w := s.cfg.Workload
	if w.MergeEvery > 0 && s.flushes%w.MergeEvery == 0 {
		if err := s.mergeLocked(); err != nil {
			return err
		}
	}
	if w.BlugeEvery > 0 && s.flushes%w.BlugeEvery == 0 {
		if err := s.blugeLocked(); err != nil {
			return err
		}
	}
	if w.SegmentEvery > 0 && s.flushes%w.SegmentEvery == 0 {
		s.nextSegmentLocked()
	}
	return nil
}

// Flush writes the next ClockStep of rows into every shard of the current
// segment of every written group and flushes them, together with any part
// still in memory: afterwards every part is on disk and listed in its
// shard's live .snp, one new part per shard more than before.
//
// On a liaison the parts go into its queue; on a data node, which writes
// nothing of its own, Flush is refused.
func (s *Server) Flush(ctx context.Context) error {
	return s.locked(ctx, "flush", func() error {
		switch s.cfg.Cluster.Role {
		case RoleData:
			return errors.New("cannot flush: a data node takes its parts from the liaison")
		case RoleLiaison:
			if err := s.liaisonWriteLocked(); err != nil {
				return err
			}
			return s.flushQueueLocked()
		}
		if err := s.writeLocked(); err != nil {
			return err
		}
		return s.flushMemLocked()
	})
}

// Merge merges parts in every shard of the written groups that has at
// least two parts of similar sizes (see pickMerge).
func (s *Server) Merge(ctx context.Context) error {
	return s.locked(ctx, "merge", s.mergeLocked)
}

// BlugeStep adds a file to the Bluge indexes of the current segment of every
// written group (segment sidx/, stream shard idx/), with a new .snp.
func (s *Server) BlugeStep(ctx context.Context) error {
	return s.locked(ctx, "change Bluge index", s.blugeLocked)
}

// NextSegment moves the simulated clock to the start of the next segment
// window; the next flush opens a new segment.
func (s *Server) NextSegment(ctx context.Context) error {
	return s.locked(ctx, "move to the next segment", func() error {
		s.nextSegmentLocked()
		return nil
	})
}

// Clock returns the simulated clock: the time of the next data written.
func (s *Server) Clock() time.Time {
	return time.Unix(0, s.stats.clock.Load()).In(s.loc)
}

// locked runs fn under the data mutex.
func (s *Server) locked(ctx context.Context, what string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot %s: %w", what, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return fn()
}

// setClock moves the simulated clock.
func (s *Server) setClock(t time.Time) {
	s.clock = t
	s.stats.clock.Store(t.UnixNano())
}

// nextSegmentLocked moves the clock to the next window of the longest unit.
func (s *Server) nextSegmentLocked() {
	unit := s.maxUnit()
	s.setClock(windowEnd(windowStart(s.clock, unit, s.loc), unit))
}

// writeLocked writes the rows of [clock, clock+ClockStep) of each written
// group into a new part in memory in every shard of the segment holding
// the clock (creating the segment and shard directories as needed, as a
// server does when rows for them arrive), then advances the clock. Nothing
// is written into the shards until flushMemLocked.
func (s *Server) writeLocked() error {
	from := s.clock
	for _, g := range s.groups {
		if !g.write {
			continue
		}
		seg, err := s.segmentAt(g, from)
		if err != nil {
			return err
		}
		to := from.Add(s.cfg.Workload.ClockStep)
		if to.After(seg.end) {
			to = seg.end
		}
		for n := range g.shards {
			sh, err := s.shardAt(g, seg, n)
			if err != nil {
				return err
			}
			sh.mem = append(sh.mem, memPart{name: partName(sh.next), minTS: from, maxTS: to.Add(-time.Nanosecond)})
			sh.next++
			sh.memEpoch = s.nextEpoch(sh)
			s.stats.partsInMemory.Add(1)
		}
	}
	s.flushes++
	s.stats.flushes.Add(1)
	s.setClock(from.Add(s.cfg.Workload.ClockStep))
	return nil
}

// flushMemLocked writes every part held in memory into its shard's
// directory and publishes each such shard's flushed parts in a new .snp.
func (s *Server) flushMemLocked() error {
	for _, g := range s.groups {
		for _, seg := range g.sortedSegments() {
			for _, n := range sortedShardNumbers(seg) {
				if sh := seg.shards[n]; len(sh.mem) > 0 {
					if err := s.flushShard(g, seg, sh); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// flushShard writes the parts of sh held in memory (trace index parts
// first, then the part, metadata.json last) and publishes them in a new
// .snp.
func (s *Server) flushShard(g *group, seg *segment, sh *shard) error {
	for _, m := range sh.mem {
		id, _ := strconv.ParseUint(m.name, 16, 64) // partName made it
		for _, rule := range g.rules {
			dir := filepath.Join(sh.dir, sidxName, rule, m.name)
			if err := s.writeSidxPart(dir, g.ruleTpl[rule], seg, m.minTS, m.maxTS, id); err != nil {
				return err
			}
		}
		if err := s.writePart(g, filepath.Join(sh.dir, m.name), m.minTS, m.maxTS); err != nil {
			return err
		}
		s.stats.partsWritten.Add(1)
	}
	parts := append(append([]string{}, sh.parts...), sh.memNames()...)
	s.stats.partsInMemory.Add(-int64(len(sh.mem)))
	sh.mem = nil
	return s.writeSnp(sh, parts)
}

// segmentAt returns the group's segment holding t, creating its directory
// (metadata, sidx/, external-segment-temp/) when it does not exist yet.
func (s *Server) segmentAt(g *group, t time.Time) (*segment, error) {
	start := windowStart(t, g.unit, s.loc)
	name := segmentName(start, g.unit)
	if seg, ok := g.segs[name]; ok {
		return seg, nil
	}
	seg := &segment{name: name, start: start, end: windowEnd(start, g.unit),
		dir: filepath.Join(g.dir, name), shards: map[int]*shard{}}
	for _, d := range []string{seg.dir, filepath.Join(seg.dir, sidxName), filepath.Join(seg.dir, externalTemp)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create segment %s: %w", seg.dir, err)
		}
	}
	meta := fmt.Sprintf(`{"version":%q,"endTime":%q}`, segmentVersion, seg.end.Format(time.RFC3339))
	if err := writeFileAtomic(filepath.Join(seg.dir, segmentMetaName), []byte(meta)); err != nil {
		return nil, fmt.Errorf("cannot create segment %s: %w", seg.dir, err)
	}
	g.segs[name] = seg
	s.stats.segments.Add(1)
	return seg, nil
}

// shardAt returns shard n of seg, creating its directory (with idx/ for
// stream and sidx/<rule>/ for trace) when needed.
func (s *Server) shardAt(g *group, seg *segment, n int) (*shard, error) {
	if sh, ok := seg.shards[n]; ok {
		return sh, nil
	}
	sh := &shard{dir: filepath.Join(seg.dir, fmt.Sprintf("%s%d", shardPrefix, n)), parts: []string{}, next: 1}
	dirs := []string{sh.dir}
	if g.catalog == banyandb.Stream {
		dirs = append(dirs, filepath.Join(sh.dir, streamIdxName))
	}
	for _, rule := range g.rules {
		dirs = append(dirs, filepath.Join(sh.dir, sidxName, rule))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cannot create shard %s: %w", sh.dir, err)
		}
	}
	seg.shards[n] = sh
	s.shardDirs[sh.dir] = sh
	return sh, nil
}

// groupSegment is a group and one of its segments.
type groupSegment struct {
	g   *group
	seg *segment
}

// currentSegments returns the segment each written group is writing to,
// creating none: the one holding the clock, else the newest one.
func (s *Server) currentSegments() []groupSegment {
	var out []groupSegment
	for _, g := range s.groups {
		if !g.write {
			continue
		}
		seg := g.segs[segmentName(windowStart(s.clock, g.unit, s.loc), g.unit)]
		if seg == nil {
			segs := g.sortedSegments()
			if len(segs) == 0 {
				continue
			}
			seg = segs[len(segs)-1]
		}
		out = append(out, groupSegment{g, seg})
	}
	return out
}

// partName formats a part number as its 16 hex digit directory name.
func partName(n uint64) string {
	return fmt.Sprintf("%016x", n)
}
