package sim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// nodeInfo answers NodeInfo: the node's name and role.
func (s *Server) nodeInfo(context.Context) (NodeInfo, error) {
	return NodeInfo{Name: s.name, Role: s.cfg.Cluster.Role.String()}, nil
}

// syncPart answers SyncPart on a data node: the part, flushed by a
// liaison, goes into its group's segment for its time and the shard it
// names (both created if needed, as a data node does when data for them
// arrives), under a new part name of this node, with a new .snp. The
// node holds nothing of it in memory.
func (s *Server) syncPart(_ context.Context, m *partMessage) error {
	if s.cfg.Cluster.Role != RoleData {
		return status.Error(codes.FailedPrecondition, "only a data node takes parts")
	}
	if s.faults.get().RefuseParts {
		s.stats.partsRefused.Add(1)
		return status.Error(codes.Unavailable, "part refused by fault injection")
	}
	def, ok := s.cfg.Cluster.Schema.Group(m.Group)
	switch {
	case !ok || def.Catalog != m.Catalog || !def.catalog().HasSegments():
		return status.Errorf(codes.NotFound, "no %s group %q in the schema", m.Catalog, m.Group)
	case m.Shard < 0 || m.Shard >= def.Shards:
		return status.Errorf(codes.InvalidArgument, "group %s has no shard %d", m.Group, m.Shard)
	case m.Files[banyandb.PartMetadataFile] == nil:
		return status.Errorf(codes.InvalidArgument, "the part has no %s", banyandb.PartMetadataFile)
	}
	if err := checkNames(m); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.receivePart(m); err != nil {
		return status.Error(codes.Internal, err.Error())
	}
	s.stats.partsReceived.Add(1)
	return nil
}

// receivePart writes a received part into its shard. The caller holds
// s.mu.
func (s *Server) receivePart(m *partMessage) error {
	g := s.groupNamed(m.Group)
	if g == nil {
		return fmt.Errorf("cannot take part: group %s is not loaded", m.Group)
	}
	minTS := time.Unix(0, m.MinTS)
	seg, err := s.segmentAt(g, minTS)
	if err != nil {
		return err
	}
	sh, err := s.shardAt(g, seg, m.Shard)
	if err != nil {
		return err
	}
	name := partName(sh.next)
	sh.next++
	for _, rule := range sortedKeys(m.Index) {
		if err := s.writeFiles(filepath.Join(sh.dir, sidxName, rule, name), m.Index[rule], banyandb.SidxManifestFile); err != nil {
			return err
		}
	}
	if err := s.writeFiles(filepath.Join(sh.dir, name), m.Files, banyandb.PartMetadataFile); err != nil {
		return err
	}
	if err := s.writeSnp(sh, append(append([]string{}, sh.parts...), name)); err != nil {
		return err
	}
	if maxTS := time.Unix(0, m.MaxTS); maxTS.After(s.clock) {
		s.setClock(maxTS)
	}
	s.stats.partsWritten.Add(1)
	return nil
}

// writeFiles creates dir and writes files into it, marker last.
func (s *Server) writeFiles(dir string, files map[string][]byte, marker string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create part %s: %w", dir, err)
	}
	for _, name := range sortedKeys(files) {
		if name == marker {
			continue
		}
		if err := s.writeCounted(filepath.Join(dir, name), files[name]); err != nil {
			return err
		}
	}
	if b, ok := files[marker]; ok {
		return s.writeCounted(filepath.Join(dir, marker), b)
	}
	return nil
}

// checkNames refuses file and rule names that are not plain names.
func checkNames(m *partMessage) error {
	bad := func(n string) bool {
		return n == "" || n == "." || n == ".." || strings.ContainsAny(n, `/\`)
	}
	for name := range m.Files {
		if bad(name) {
			return fmt.Errorf("bad file name %q", name)
		}
	}
	for rule, files := range m.Index {
		if bad(rule) {
			return fmt.Errorf("bad index rule %q", rule)
		}
		for name := range files {
			if bad(name) {
				return fmt.Errorf("bad file name %q", name)
			}
		}
	}
	return nil
}

// groupNamed returns the loaded group of that name.
func (s *Server) groupNamed(name string) *group {
	for _, g := range s.groups {
		if g.name == name {
			return g
		}
	}
	return nil
}

// maintainLocked is a data node's workload step: it writes nothing (its
// parts come from the liaison), but merges and changes the series indexes
// of the segments that received data, as a standalone node does.
func (s *Server) maintainLocked() error {
	s.flushes++
	s.stats.flushes.Add(1)
	w := s.cfg.Workload
	if w.MergeEvery > 0 && s.flushes%w.MergeEvery == 0 {
		if err := s.mergeLocked(); err != nil {
			return err
		}
	}
	if w.BlugeEvery > 0 && s.flushes%w.BlugeEvery == 0 {
		return s.blugeLocked()
	}
	return nil
}

// prepareClusterDirs creates the directory of every measure, stream and
// trace group of the schema, which a node opens (and locks) at start
// whether it holds data of the group or not.
func (s *Server) prepareClusterDirs() error {
	for _, g := range s.cfg.Cluster.Schema.Groups {
		if !g.catalog().HasSegments() {
			continue
		}
		if err := os.MkdirAll(filepath.Join(s.roots.DataDir(g.catalog()), g.Name), 0o755); err != nil {
			return fmt.Errorf("cannot create group directory: %w", err)
		}
	}
	return nil
}

// loadData reads a data node's groups as a standalone server does, with
// each schema group's shard count and segment unit: shards numbered at or
// above the count are not loaded (and left alone). Every group is
// maintained (merges, index changes).
func (s *Server) loadData() error {
	if err := s.loadGroups(); err != nil {
		return err
	}
	for _, g := range s.groups {
		g.write = true
	}
	s.clock = s.startClock()
	s.stats.clock.Store(s.clock.UnixNano())
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
