package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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
// FlushInterval: a flush, then a merge, a Bluge index change and a move to
// the next segment window when their counts of flushes are reached.
func (s *Server) Step(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot run workload step: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushLocked(); err != nil {
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

// Flush writes one new part into every shard of the current segment of
// every written group, as a server's flush of its in-memory data does.
func (s *Server) Flush(ctx context.Context) error {
	return s.locked(ctx, "flush", s.flushLocked)
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

// flushLocked writes the data of [clock, clock+ClockStep) into each written
// group, then advances the clock.
func (s *Server) flushLocked() error {
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
			if err := s.flushShard(g, seg, sh, from, to.Add(-time.Nanosecond)); err != nil {
				return err
			}
		}
	}
	s.flushes++
	s.stats.flushes.Add(1)
	s.setClock(from.Add(s.cfg.Workload.ClockStep))
	return nil
}

// flushShard writes one new part into sh and publishes it in a new .snp.
func (s *Server) flushShard(g *group, seg *segment, sh *shard, minTS, maxTS time.Time) error {
	name := partName(sh.next)
	sh.next++
	for _, rule := range g.rules {
		dir := filepath.Join(sh.dir, sidxName, rule, name)
		if err := s.writeSidxPart(dir, g.ruleTpl[rule], seg, minTS, maxTS, sh.next-1); err != nil {
			return err
		}
	}
	if err := s.writePart(g, filepath.Join(sh.dir, name), minTS, maxTS); err != nil {
		return err
	}
	s.stats.partsWritten.Add(1)
	parts := append(append([]string{}, sh.parts...), name)
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
