package sim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// failedPartsDir is where a liaison's queue shard keeps the parts it could
// not deliver (docs/banyandb.md, Clusters).
const failedPartsDir = "failed-parts"

// queue is a liaison's write queue: per (group, shard), a shard directory
// <root>/<catalog>/data/<group>/shard-N holding flushed parts listed in its
// .snp until they are delivered to every replica's data node.
type queue struct {
	shards map[ShardKey]*shard
	// parts records, per queued part directory, when it was flushed and
	// where it went; only the sender (Deliver, under deliverMu) changes
	// the delivery state.
	parts map[string]*queuedPart
}

// queuedPart is one flushed part waiting in the queue.
type queuedPart struct {
	key       ShardKey
	name      string
	flushed   time.Time
	bytes     int64
	delivered map[string]bool // node names
	failures  int             // delivery rounds in which it failed
}

// loadLiaison sets up a liaison's groups from the schema (every measure,
// stream and trace group; the liaison holds no segment) and its queue from
// the shard directories already on disk, whose queued parts the sender
// delivers.
func (s *Server) loadLiaison() error {
	s.queue = &queue{shards: map[ShardKey]*shard{}, parts: map[string]*queuedPart{}}
	for _, def := range s.cfg.Cluster.Schema.Groups {
		c := def.catalog()
		if !c.HasSegments() {
			continue
		}
		g := &group{catalog: c, name: def.Name, dir: filepath.Join(s.roots.DataDir(c), def.Name), unit: def.unit(),
			shards: def.Shards, files: defaultTemplate(c), rules: append([]string(nil), def.IndexRules...),
			ruleTpl: map[string][]fileSpec{}, segs: map[string]*segment{}}
		for _, r := range g.rules {
			g.ruleTpl[r] = defaultSidxTemplate()
		}
		s.groups = append(s.groups, g)
		for n := range def.Shards {
			dir := filepath.Join(g.dir, fmt.Sprintf("%s%d", shardPrefix, n))
			if !isDir(dir) {
				continue
			}
			if err := s.loadQueueShard(g, n, dir); err != nil {
				return err
			}
		}
	}
	if err := s.selectWriteGroups(); err != nil {
		return err
	}
	s.clock = s.startClock()
	s.stats.clock.Store(s.clock.UnixNano())
	return nil
}

// loadQueueShard reads a queue shard left by an earlier run.
func (s *Server) loadQueueShard(g *group, n int, dir string) error {
	sh, err := loadShard(dir)
	if err != nil {
		return err
	}
	key := ShardKey{g.name, n}
	s.queue.shards[key] = sh
	for _, p := range sh.parts {
		info, err := os.Stat(filepath.Join(dir, p, banyandb.PartMetadataFile))
		if err != nil {
			continue // listed but not there: nothing to deliver
		}
		s.queue.parts[filepath.Join(dir, p)] = &queuedPart{key: key, name: p, flushed: info.ModTime(),
			bytes: dirBytes(filepath.Join(dir, p)), delivered: map[string]bool{}}
		s.stats.partsQueued.Add(1)
	}
	return nil
}

// queueShard returns the queue shard of group g, creating its directory.
func (s *Server) queueShard(g *group, n int) (*shard, error) {
	key := ShardKey{g.name, n}
	if sh, ok := s.queue.shards[key]; ok {
		return sh, nil
	}
	sh := &shard{dir: filepath.Join(g.dir, fmt.Sprintf("%s%d", shardPrefix, n)), parts: []string{}, next: 1}
	if err := os.MkdirAll(sh.dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create queue shard %s: %w", sh.dir, err)
	}
	s.queue.shards[key] = sh
	return sh, nil
}

// liaisonStepLocked is a liaison's workload step: flush the parts the
// previous step wrote into memory into their queue shards, then write the
// next ClockStep of rows into new parts in memory, one per shard of every
// written group. The caller holds s.mu.
func (s *Server) liaisonStepLocked() error {
	if err := s.flushQueueLocked(); err != nil {
		return err
	}
	return s.liaisonWriteLocked()
}

// liaisonWriteLocked writes the rows of [clock, clock+ClockStep), cut at
// the end of each group's segment window, into a new part in memory in
// every shard of every written group, then advances the clock.
func (s *Server) liaisonWriteLocked() error {
	from := s.clock
	for _, g := range s.groups {
		if !g.write {
			continue
		}
		to := from.Add(s.cfg.Workload.ClockStep)
		if end := windowEnd(windowStart(from, g.unit, s.loc), g.unit); to.After(end) {
			to = end
		}
		for n := range g.shards {
			sh, err := s.queueShard(g, n)
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

// flushQueueLocked writes every part in memory into its queue shard
// (trace index parts first, metadata.json last) and lists it in a new
// .snp. The caller holds s.mu.
func (s *Server) flushQueueLocked() error {
	for _, key := range s.queueKeys() {
		sh := s.queue.shards[key]
		if len(sh.mem) == 0 {
			continue
		}
		g := s.groupNamed(key.Group)
		for _, m := range sh.mem {
			seg := &segment{start: windowStart(m.minTS, g.unit, s.loc)}
			id, _ := strconv.ParseUint(m.name, 16, 64) // partName made it
			for _, rule := range g.rules {
				if err := s.writeSidxPart(filepath.Join(sh.dir, sidxName, rule, m.name), g.ruleTpl[rule], seg, m.minTS, m.maxTS, id); err != nil {
					return err
				}
			}
			dir := filepath.Join(sh.dir, m.name)
			if err := s.writePart(g, dir, m.minTS, m.maxTS); err != nil {
				return err
			}
			s.queue.parts[dir] = &queuedPart{key: key, name: m.name, flushed: s.now(), bytes: dirBytes(dir), delivered: map[string]bool{}}
			s.stats.partsWritten.Add(1)
			s.stats.partsQueued.Add(1)
		}
		parts := append(append([]string{}, sh.parts...), sh.memNames()...)
		s.stats.partsInMemory.Add(-int64(len(sh.mem)))
		sh.mem = nil
		if err := s.writeSnp(sh, parts); err != nil {
			return err
		}
	}
	return nil
}

// queueKeys returns the queue's shards in table order.
func (s *Server) queueKeys() []ShardKey {
	keys := make([]ShardKey, 0, len(s.queue.shards))
	for k := range s.queue.shards {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].Group != keys[j].Group {
			return keys[i].Group < keys[j].Group
		}
		return keys[i].Shard < keys[j].Shard
	})
	return keys
}

// delivery is one queued part the sender works on.
type delivery struct {
	dir  string
	part *queuedPart
	g    *group
	def  GroupDef
	done bool // delivered to every replica
	fail bool // failed SyncAttempts times: to failed-parts/
}

// Deliver runs one round of the liaison's sender: every queued part goes
// to the data node of each of its replicas, placed over the data nodes up
// now (docs/banyandb.md, Clusters, Placement); a part every replica has is
// deleted from the queue, and each changed queue shard gets a new .snp. A
// node that fails a call is taken out of the live list until the next
// discovery refresh, so the part is placed anew in the next round; a part
// that failed in SyncAttempts rounds goes to failed-parts/, never to be
// sent again. With no data node up, parts wait. The hold_queue fault makes
// it do nothing.
func (s *Server) Deliver(ctx context.Context) error {
	if s.cfg.Cluster.Role != RoleLiaison {
		return errors.New("cannot deliver parts: not a liaison")
	}
	s.deliverMu.Lock()
	defer s.deliverMu.Unlock()
	if s.faults.get().HoldQueue {
		return nil
	}
	jobs := s.pendingDeliveries()
	live := s.peers.live()
	names := liveNames(live)
	for _, j := range jobs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cannot deliver parts: %w", err)
		}
		targets := placeShard(s.table, j.part.key.Group, j.part.key.Shard, j.def.Replicas, names)
		if len(targets) == 0 {
			continue
		}
		if s.deliverPart(ctx, j, targets, live) {
			j.done = true
			continue
		}
		names = liveNames(s.peers.live())
		j.part.failures++
		j.fail = j.part.failures >= s.cfg.Cluster.SyncAttempts
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.settleLocked(jobs)
}

// pendingDeliveries lists the queued parts in queue order.
func (s *Server) pendingDeliveries() []*delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*delivery
	for _, key := range s.queueKeys() {
		sh := s.queue.shards[key]
		g := s.groupNamed(key.Group)
		def, _ := s.schemaGroup(key.Group)
		for _, p := range sh.parts {
			dir := filepath.Join(sh.dir, p)
			if qp := s.queue.parts[dir]; qp != nil {
				out = append(out, &delivery{dir: dir, part: qp, g: g, def: def})
			}
		}
	}
	return out
}

// deliverPart sends a part to every target that lacks it and reports
// whether all have it now. Queued parts are immutable and only the sender
// deletes them, so they are read without the lock.
func (s *Server) deliverPart(ctx context.Context, j *delivery, targets []string, live map[string]string) bool {
	msg, err := s.readQueuedPart(j)
	if err != nil {
		s.stats.noteError(err)
		return false
	}
	ok := true
	for _, name := range targets {
		if j.part.delivered[name] {
			continue
		}
		conn, err := s.peers.conn(live[name])
		if err == nil {
			callCtx, cancel := context.WithTimeout(ctx, s.cfg.Cluster.CallTimeout)
			err = callSyncPart(callCtx, conn, msg)
			cancel()
		}
		if err != nil {
			s.peers.markDown(live[name])
			s.stats.syncErrors.Add(1)
			ok = false
			continue
		}
		j.part.delivered[name] = true
		s.stats.partsSent.Add(1)
	}
	return ok
}

// readQueuedPart reads a queued part (and a trace part's index parts) into
// a message.
func (s *Server) readQueuedPart(j *delivery) (*partMessage, error) {
	m := &partMessage{Catalog: string(j.g.catalog), Group: j.g.name, Shard: j.part.key.Shard, Files: map[string][]byte{}}
	var err error
	if m.Files, err = readDirFiles(j.dir); err != nil {
		return nil, err
	}
	meta, err := banyandb.ParsePartMetadata(m.Files[banyandb.PartMetadataFile])
	if err != nil {
		return nil, fmt.Errorf("cannot send part %s: %w", j.dir, err)
	}
	m.MinTS, m.MaxTS = meta.MinTimestamp, meta.MaxTimestamp
	shardDir := filepath.Dir(j.dir)
	for _, rule := range j.g.rules {
		files, err := readDirFiles(filepath.Join(shardDir, sidxName, rule, j.part.name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if m.Index == nil {
			m.Index = map[string]map[string][]byte{}
		}
		m.Index[rule] = files
	}
	return m, nil
}

// settleLocked takes the delivered and the failed parts out of their queue
// shards (a new .snp per shard changed), deletes the delivered ones and
// moves the failed ones into failed-parts/. The caller holds s.mu.
func (s *Server) settleLocked(jobs []*delivery) error {
	gone := map[*shard]map[string]bool{}
	for _, j := range jobs {
		if !j.done && !j.fail {
			continue
		}
		sh := s.queue.shards[j.part.key]
		if gone[sh] == nil {
			gone[sh] = map[string]bool{}
		}
		gone[sh][j.part.name] = true
	}
	for _, sh := range s.queue.shards {
		if gone[sh] == nil {
			continue
		}
		var left []string
		for _, p := range sh.parts {
			if !gone[sh][p] {
				left = append(left, p)
			}
		}
		if left == nil {
			left = []string{}
		}
		if err := s.writeSnp(sh, left); err != nil {
			return err
		}
	}
	for _, j := range jobs {
		var err error
		switch {
		case j.done:
			err = s.removeQueued(j)
			s.stats.partsDelivered.Add(1)
		case j.fail:
			err = s.failQueued(j)
			s.stats.partsFailed.Add(1)
		default:
			continue
		}
		delete(s.queue.parts, j.dir)
		s.stats.partsQueued.Add(-1)
		if err != nil {
			return err
		}
	}
	return nil
}

// removeQueued deletes a delivered part and its index parts.
func (s *Server) removeQueued(j *delivery) error {
	shardDir := filepath.Dir(j.dir)
	for _, rule := range j.g.rules {
		if err := os.RemoveAll(filepath.Join(shardDir, sidxName, rule, j.part.name)); err != nil {
			return fmt.Errorf("cannot delete delivered part: %w", err)
		}
	}
	if err := os.RemoveAll(j.dir); err != nil {
		return fmt.Errorf("cannot delete delivered part: %w", err)
	}
	return nil
}

// failQueued moves an undeliverable part into failed-parts/ (its index
// parts into the part's own sidx/<rule>/), then deletes the oldest failed
// parts beyond the size cap.
func (s *Server) failQueued(j *delivery) error {
	shardDir := filepath.Dir(j.dir)
	failed := filepath.Join(shardDir, failedPartsDir)
	dst := filepath.Join(failed, j.part.name)
	if err := os.MkdirAll(failed, 0o755); err != nil {
		return fmt.Errorf("cannot keep failed part: %w", err)
	}
	if err := os.RemoveAll(dst); err != nil {
		return fmt.Errorf("cannot keep failed part: %w", err)
	}
	if err := os.Rename(j.dir, dst); err != nil {
		return fmt.Errorf("cannot keep failed part: %w", err)
	}
	for _, rule := range j.g.rules {
		src := filepath.Join(shardDir, sidxName, rule, j.part.name)
		if !isDir(src) {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dst, sidxName), 0o755); err != nil {
			return fmt.Errorf("cannot keep failed part: %w", err)
		}
		if err := os.Rename(src, filepath.Join(dst, sidxName, rule)); err != nil {
			return fmt.Errorf("cannot keep failed part: %w", err)
		}
	}
	return capFailedParts(failed, s.cfg.Cluster.FailedPartsMax)
}

// capFailedParts deletes the oldest parts of a failed-parts/ directory
// (by modification time, then name) until it holds at most limit bytes.
func capFailedParts(dir string, limit int64) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cannot list failed parts: %w", err)
	}
	type part struct {
		name  string
		at    time.Time
		bytes int64
	}
	var parts []part
	var total int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !e.IsDir() {
			continue
		}
		p := part{e.Name(), info.ModTime(), dirBytes(filepath.Join(dir, e.Name()))}
		parts = append(parts, p)
		total += p.bytes
	}
	sort.Slice(parts, func(i, j int) bool {
		if !parts[i].at.Equal(parts[j].at) {
			return parts[i].at.Before(parts[j].at)
		}
		return parts[i].name < parts[j].name
	})
	for _, p := range parts {
		if total <= limit {
			break
		}
		if err := os.RemoveAll(filepath.Join(dir, p.name)); err != nil {
			return fmt.Errorf("cannot delete old failed part: %w", err)
		}
		total -= p.bytes
	}
	return nil
}

// readDirFiles reads the regular files of a directory by name.
func readDirFiles(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("cannot read %s: %w", dir, err)
		}
		out[e.Name()] = b
	}
	return out, nil
}

// dirBytes is the size of the regular files below dir.
func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

// RefreshNodes reads the liaison's discovery file and asks every node in
// it who it is: the data nodes that answer are the live nodes placement
// uses until the next refresh.
func (s *Server) RefreshNodes(ctx context.Context) ([]PeerState, error) {
	if s.cfg.Cluster.Role != RoleLiaison {
		return nil, errors.New("cannot refresh nodes: not a liaison")
	}
	return s.peers.refresh(ctx, s.cfg.Cluster.DiscoveryFile, min(s.cfg.Cluster.CallTimeout, s.cfg.Cluster.DiscoveryInterval))
}

// kickSender wakes the background sender, if it waits.
func (s *Server) kickSender() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// startLiaisonLoops starts the discovery refresh and, with a SyncInterval,
// the sender, until Stop.
func (s *Server) startLiaisonLoops() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.Cluster.DiscoveryInterval)
		defer t.Stop()
		for {
			select {
			case <-s.baseCtx.Done():
				return
			case <-t.C:
				if _, err := s.RefreshNodes(s.baseCtx); err != nil && s.baseCtx.Err() == nil {
					s.stats.noteError(err)
				}
			}
		}
	}()
	if s.cfg.Cluster.SyncInterval <= 0 {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(s.cfg.Cluster.SyncInterval)
		defer t.Stop()
		for {
			select {
			case <-s.baseCtx.Done():
				return
			case <-t.C:
			case <-s.kick:
			}
			if err := s.Deliver(s.baseCtx); err != nil && s.baseCtx.Err() == nil {
				s.stats.noteError(err)
			}
		}
	}()
}
