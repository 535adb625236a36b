package sim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// SchemaSnapshotPrefix starts the name under which the schema snapshot
// (catalog schema-property) comes back, as a CATALOG_PROPERTY snapshot.
const SchemaSnapshotPrefix = "schema-property/"

// snapshotNameLayout is the UTC time part of a snapshot name.
const snapshotNameLayout = "20060102150405"

// ErrStopping is returned for snapshot calls cut short by Stop.
var ErrStopping = errors.New("the simulator is stopping")

// target is one catalog a snapshot request covers, with its groups (nil
// means every group).
type target struct {
	catalog banyandb.Catalog
	groups  map[string]bool
}

// snapshotOrder is the order of the answer, as a real server gives it.
var snapshotOrder = [...]banyandb.Catalog{banyandb.SchemaProperty, banyandb.Property,
	banyandb.Measure, banyandb.Stream, banyandb.Trace}

// planSnapshot returns the catalogs a request covers, in answer order.
//
// An empty request covers all five catalogs. Otherwise each named measure,
// stream or trace group is covered (an empty group name covers the whole
// catalog). Property groups are covered only when a measure, stream or
// trace group is named too (the 0.11 dev quirk: a request naming only
// property groups gets no property snapshot), and the schema snapshot is
// taken together with the property one.
func planSnapshot(req *databasev1.SnapshotRequest) []target {
	if len(req.GetGroups()) == 0 {
		out := make([]target, 0, len(snapshotOrder))
		for _, c := range snapshotOrder {
			out = append(out, target{catalog: c})
		}
		return out
	}
	named := map[banyandb.Catalog]map[string]bool{}
	whole := map[banyandb.Catalog]bool{}
	for _, g := range req.GetGroups() {
		c, ok := fromProtoCatalog(g.GetCatalog())
		if !ok {
			continue
		}
		if g.GetGroup() == "" {
			whole[c] = true
		}
		if named[c] == nil {
			named[c] = map[string]bool{}
		}
		named[c][g.GetGroup()] = true
	}
	nonProperty := named[banyandb.Measure] != nil || named[banyandb.Stream] != nil || named[banyandb.Trace] != nil
	var out []target
	for _, c := range snapshotOrder {
		switch {
		case c == banyandb.SchemaProperty:
			if nonProperty && named[banyandb.Property] != nil {
				out = append(out, target{catalog: c})
			}
		case named[c] == nil, c == banyandb.Property && !nonProperty:
		case whole[c]:
			out = append(out, target{catalog: c})
		default:
			out = append(out, target{catalog: c, groups: named[c]})
		}
	}
	return out
}

// fromProtoCatalog maps the API's catalog to a directory catalog.
func fromProtoCatalog(c commonv1.Catalog) (banyandb.Catalog, bool) {
	switch c {
	case commonv1.Catalog_CATALOG_MEASURE:
		return banyandb.Measure, true
	case commonv1.Catalog_CATALOG_STREAM:
		return banyandb.Stream, true
	case commonv1.Catalog_CATALOG_TRACE:
		return banyandb.Trace, true
	case commonv1.Catalog_CATALOG_PROPERTY:
		return banyandb.Property, true
	}
	return "", false
}

// toProtoCatalog maps a directory catalog to the API's (schema-property
// answers as property).
func toProtoCatalog(c banyandb.Catalog) commonv1.Catalog {
	switch c {
	case banyandb.Measure:
		return commonv1.Catalog_CATALOG_MEASURE
	case banyandb.Stream:
		return commonv1.Catalog_CATALOG_STREAM
	case banyandb.Trace:
		return commonv1.Catalog_CATALOG_TRACE
	}
	return commonv1.Catalog_CATALOG_PROPERTY
}

// Snapshot takes a snapshot as a server answers SnapshotService/Snapshot:
// one directory <root>/<catalog>/snapshots/<name> per catalog covered (see
// planSnapshot) that has a group to put in it, each shard cut under the
// data mutex so that its .snp lists exactly the parts it holds and those it
// holds in memory (not linked: docs/banyandb.md, Snapshots), then removes
// stale snapshots. A catalog without groups is named in the answer, without
// an error, but gets no directory. A catalog whose snapshot fails (or is
// named in Faults.ErrorCatalog) gets an error in the answer and no
// directory.
//
// Like a real server, it finishes a snapshot even when ctx is cancelled
// (the caller has gone away); it fails only when Stop cuts the delay of the
// slow snapshot fault short (ErrStopping). The connection faults are applied
// by the gRPC and HTTP handlers, not here.
//
// A liaison answers success with an empty list and snapshots nothing, as a
// real liaison does (docs/banyandb.md, Clusters).
func (s *Server) Snapshot(_ context.Context, req *databasev1.SnapshotRequest) (*databasev1.SnapshotResponse, error) {
	s.stats.snapshotCalls.Add(1)
	if s.cfg.Cluster.Role == RoleLiaison {
		return &databasev1.SnapshotResponse{Snapshots: []*databasev1.Snapshot{}}, nil
	}
	f := s.faults.get()
	failing, err := f.errorCatalogs()
	if err != nil {
		return nil, err
	}
	if d := time.Duration(f.SlowSnapshot); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-s.stopping():
			t.Stop()
			return nil, fmt.Errorf("cannot take snapshot: %w", ErrStopping)
		}
	}
	targets := planSnapshot(req)
	resp := &databasev1.SnapshotResponse{Snapshots: []*databasev1.Snapshot{}}
	if len(targets) == 0 {
		return resp, nil
	}
	now := s.now()
	name := fmt.Sprintf("%s-%08x", now.UTC().Format(snapshotNameLayout), s.seq.Add(1))

	// The cut is taken shard by shard, each under the lock: a shard's
	// newest part list, its fresh .snp and the copies of its Bluge files
	// are consistent, and its part directories are pinned, so that a merge
	// finishing meanwhile does not delete them. The lock is released
	// between shards every cutSlice, and flushes and merges go on, as on a
	// server, which snapshots each shard's table on its own. Parts are immutable: they
	// are linked once the whole cut is taken, as a server links them from
	// its reference-counted snapshot.
	lists := make([]*linkList, len(targets))
	for i, t := range targets {
		out := &databasev1.Snapshot{Catalog: toProtoCatalog(t.catalog), Name: name}
		if t.catalog == banyandb.SchemaProperty {
			out.Name = SchemaSnapshotPrefix + name
		}
		switch {
		case failing[t.catalog]:
			out.Name, out.Error = "", fmt.Sprintf("cannot snapshot %s: injected failure", t.catalog)
		default:
			lists[i] = &linkList{srv: s}
			err := s.snapshotCatalog(t, name, lists[i])
			lists[i].release()
			if err != nil {
				s.mu.Lock()
				s.pin(lists[i:i+1], -1)
				s.mu.Unlock()
				out.Name, out.Error, lists[i] = "", err.Error(), nil
			}
		}
		resp.Snapshots = append(resp.Snapshots, out)
	}

	var done []banyandb.Catalog
	for i, t := range targets {
		if lists[i] == nil {
			continue
		}
		if err := lists[i].run(); err != nil {
			_ = os.RemoveAll(filepath.Join(s.roots.SnapshotsDir(t.catalog), name))
			resp.Snapshots[i].Name, resp.Snapshots[i].Error = "", fmt.Sprintf("cannot snapshot %s: %v", t.catalog, err)
			continue
		}
		if !isDir(filepath.Join(s.roots.SnapshotsDir(t.catalog), name)) {
			continue // no group: named, but no directory
		}
		done = append(done, t.catalog)
		s.stats.snapshotsTaken.Add(1)
	}
	s.mu.Lock()
	s.pin(lists, -1)
	s.mu.Unlock()

	for _, c := range done {
		n, err := s.removeStaleSnapshots(c, name, now)
		s.stats.snapshotsDeleted.Add(int64(n))
		if err != nil {
			s.stats.noteError(err)
		}
	}
	return resp, nil
}

// stopping returns a channel closed when Stop begins (never closed before
// Start).
func (s *Server) stopping() <-chan struct{} {
	if s.baseCtx == nil {
		return nil
	}
	return s.baseCtx.Done()
}

// snapshotCatalog makes <root>/<catalog>/snapshots/<name> for one target,
// as its first group goes into it: a catalog without groups (or whose
// groups are all empty, or none of which the request names) gets no
// directory, though the answer names its snapshot without an error
// (docs/banyandb.md, Snapshots). On failure it removes what it made.
func (s *Server) snapshotCatalog(t target, name string, links *linkList) error {
	dst := filepath.Join(s.roots.SnapshotsDir(t.catalog), name)
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("cannot snapshot %s: %s exists", t.catalog, dst)
	}
	var err error
	if t.catalog.HasSegments() {
		err = snapshotSegmentCatalog(s.roots.DataDir(t.catalog), dst, t, links)
	} else {
		err = snapshotBlugeCatalog(s.roots.DataDir(t.catalog), filepath.Join(dst, "data"), t)
	}
	if err != nil {
		_ = os.RemoveAll(dst)
		return fmt.Errorf("cannot snapshot %s: %w", t.catalog, err)
	}
	return nil
}

// removeStaleSnapshots deletes old snapshots of catalog c like a server:
// only when its snapshots directory holds more than MaxFileSnapshotNum
// entries, the oldest first, down to that number, and only those older than
// MinFileSnapshotAge. The snapshot just taken (keep) is never deleted. Age
// comes from the time in the name, else from the modification time.
func (s *Server) removeStaleSnapshots(c banyandb.Catalog, keep string, now time.Time) (int, error) {
	dir := s.roots.SnapshotsDir(c)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("cannot list snapshots in %s: %w", dir, err)
	}
	if len(entries) <= s.cfg.MaxFileSnapshotNum {
		return 0, nil
	}
	type snap struct {
		name string
		at   time.Time
	}
	var snaps []snap
	for _, e := range entries {
		at, err := time.ParseInLocation(snapshotNameLayout, firstField(e.Name()), time.UTC)
		if err != nil {
			info, err := e.Info()
			if err != nil {
				continue
			}
			at = info.ModTime()
		}
		snaps = append(snaps, snap{e.Name(), at})
	}
	sort.Slice(snaps, func(i, j int) bool {
		if !snaps[i].at.Equal(snaps[j].at) {
			return snaps[i].at.Before(snaps[j].at)
		}
		return snaps[i].name < snaps[j].name
	})
	deleted, excess := 0, len(snaps)-s.cfg.MaxFileSnapshotNum
	for _, sn := range snaps {
		if deleted == excess {
			break
		}
		if sn.name == keep || now.Sub(sn.at) <= s.cfg.MinFileSnapshotAge {
			continue
		}
		if err := os.RemoveAll(filepath.Join(dir, sn.name)); err != nil {
			return deleted, fmt.Errorf("cannot delete stale snapshot: %w", err)
		}
		deleted++
	}
	return deleted, nil
}

// firstField returns name up to its first '-'.
func firstField(name string) string {
	for i := 0; i < len(name); i++ {
		if name[i] == '-' {
			return name[:i]
		}
	}
	return name
}

// cutSlice is how long a snapshot holds the lock at most before it lets
// the workload's waiting flush or merge run.
const cutSlice = 20 * time.Millisecond

// linkList collects the part directories a snapshot hard-links once its
// cut is taken.
type linkList struct {
	srv    *Server     // whose lock cut takes; nil in tests
	jobs   [][2]string // source, destination
	pinned int         // jobs[:pinned] are pinned
	// doomed lists merged-away directories still on disk, waiting for an
	// earlier snapshot to link them: they are not part of this one.
	doomed []string
	held   time.Time // when the lock was taken; zero when not held
}

// cut runs fn, one shard's or segment's part of the cut, under the server's
// lock, and pins the part directories it added. The lock is kept for the
// next part until it has been held for cutSlice; release lets it go.
func (l *linkList) cut(fn func() error) error {
	if l.srv == nil {
		return fn()
	}
	if l.held.IsZero() {
		l.srv.mu.Lock()
		l.held = time.Now()
		l.doomed = l.srv.doomed
	}
	err := fn()
	l.srv.pinJobs(l.jobs[l.pinned:], 1)
	l.pinned = len(l.jobs)
	if time.Since(l.held) >= cutSlice {
		l.release()
	}
	return err
}

// release unlocks the server if cut holds its lock.
func (l *linkList) release() {
	if l != nil && l.srv != nil && !l.held.IsZero() {
		l.held = time.Time{}
		l.srv.mu.Unlock()
	}
}

// memOf returns the names of the parts the shard in dir holds in memory
// and the epoch of its in-memory part list; nothing in tests without a
// server. The caller holds the server's lock (inside cut).
func (l *linkList) memOf(dir string) ([]string, uint64) {
	if l.srv == nil {
		return nil, 0
	}
	sh := l.srv.shardDirs[dir]
	if sh == nil || len(sh.mem) == 0 {
		return nil, 0
	}
	return sh.memNames(), sh.memEpoch
}

func (l *linkList) isDoomed(dir string) bool { return slices.Contains(l.doomed, dir) }

// shardLoaded reports whether the server loaded shard n of group: a data
// node of a cluster loads only the shards numbered below the group's
// shard count, and its snapshots hold only those.
func (l *linkList) shardLoaded(group string, n int) bool {
	if l.srv == nil {
		return true
	}
	def, ok := l.srv.schemaGroup(group)
	return !ok || n < def.Shards
}

func (l *linkList) add(src, dst string) { l.jobs = append(l.jobs, [2]string{src, dst}) }

// run makes the links.
func (l *linkList) run() error {
	for _, j := range l.jobs {
		if err := linkDir(j[0], j[1]); err != nil {
			return err
		}
	}
	return nil
}

// pin adds delta to the pin count of every source directory of the lists;
// when counts drop to zero, the directories merges left to delete are
// deleted. The caller holds s.mu.
func (s *Server) pin(lists []*linkList, delta int) {
	for _, l := range lists {
		if l != nil {
			s.pinJobs(l.jobs, delta)
		}
	}
	if delta > 0 {
		return
	}
	kept := s.doomed[:0]
	for _, d := range s.doomed {
		if s.pins[d] > 0 {
			kept = append(kept, d)
			continue
		}
		if err := os.RemoveAll(d); err != nil {
			s.stats.noteError(fmt.Errorf("cannot delete merged part: %w", err))
		}
	}
	s.doomed = kept
}

// pinJobs adds delta to the pin count of the jobs' source directories. The
// caller holds s.mu.
func (s *Server) pinJobs(jobs [][2]string, delta int) {
	for _, j := range jobs {
		if s.pins[j[0]] += delta; s.pins[j[0]] <= 0 {
			delete(s.pins, j[0])
		}
	}
}

// removePart deletes a merged part directory, or, while a snapshot still
// has to link it, leaves it to the snapshot to delete. The caller holds
// s.mu.
func (s *Server) removePart(dir string) error {
	if s.pins[dir] > 0 {
		s.doomed = append(s.doomed, dir)
		return nil
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("cannot delete merged part: %w", err)
	}
	return nil
}
