package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// nodeVersion reaches the data node and returns its API version.
func (s *Server) nodeVersion(ctx context.Context) (snapshot.Version, error) {
	c, err := snapshot.Dial(ctx, s.opts.Node)
	if err != nil {
		return snapshot.Version{}, err
	}
	defer c.Close()
	return c.APIVersion(ctx)
}

// checkRoots checks that the node's data directories can be read (a
// liaison's: measure, stream and trace, its queues) and that at least one
// exists, so that an agent whose volume is not mounted fails at prepare.
func (s *Server) checkRoots() error {
	catalogs := banyandb.AllCatalogs()
	if s.opts.Role == RoleLiaison {
		catalogs = []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace}
	}
	found := false
	for _, c := range catalogs {
		_, err := os.ReadDir(s.opts.Roots.DataDir(c))
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("cannot read the node's %s data: %w", c, err)
		}
	}
	if !found {
		return fmt.Errorf("cannot find the node's data: no catalog data directory under %s (is the node's volume mounted?)", s.opts.Roots.DataDir(catalogs[0]))
	}
	return nil
}

// takeSnapshot takes the operation's snapshot: a data node's, through its
// snapshot API, or a liaison's queue state from its disk. The state file
// names a data node's snapshots before the answer is used.
func (s *Server) takeSnapshot(ctx context.Context, op *operation) (*SnapshotResponse, error) {
	resp := &SnapshotResponse{Start: s.now().UTC()}
	if s.opts.Role == RoleLiaison {
		q, err := ReadLiaisonQueue(s.opts.Roots, s.now)
		if err != nil {
			return nil, err
		}
		resp.Queue, resp.End = q, s.now().UTC()
		return resp, nil
	}
	c, err := snapshot.Dial(ctx, s.opts.Node)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	taken, err := c.Snapshot(ctx, nil)
	resp.End = s.now().UTC()
	op.taken = taken
	if serr := s.saveState(op); serr != nil && err == nil {
		err = serr
	}
	if err == nil {
		err = usableSnapshot(taken)
	}
	if err != nil {
		if rerr := s.releaseLocked(op); rerr != nil {
			err = fmt.Errorf("%w (and its snapshot could not be removed: %v)", err, rerr)
		}
		return nil, err
	}
	for _, t := range taken {
		resp.Snapshots = append(resp.Snapshots, TakenSnapshot{Catalog: string(t.Catalog), Name: t.Name})
	}
	return resp, nil
}

// usableSnapshot refuses an empty answer (a liaison's: docs/banyandb.md,
// Clusters) and an answer with a failed catalog.
func usableSnapshot(taken []snapshot.Taken) error {
	if len(taken) == 0 {
		return errors.New("cannot take snapshot: the node answered success with no snapshot, as a liaison does: is the agent's --node a data node?")
	}
	for _, t := range taken {
		if t.Failed() {
			return fmt.Errorf("cannot take snapshot: the %s snapshot failed: %s", t.Catalog, t.Error)
		}
	}
	return nil
}

// ReadLiaisonQueue reads what a liaison holds on disk and has not
// delivered (docs/banyandb.md, Clusters): the complete parts (with their
// metadata.json) in each queue shard <group>/shard-N of measure, stream
// and trace, with the modification time of the oldest one's metadata.json
// as its flush time, and the parts in each shard's failed-parts/.
func ReadLiaisonQueue(roots banyandb.Roots, now func() time.Time) (*repository.LiaisonQueue, error) {
	q := &repository.LiaisonQueue{Checked: now().UTC()}
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		groups, err := os.ReadDir(roots.DataDir(c))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read the liaison's queue: %w", err)
		}
		for _, g := range groups {
			if !g.IsDir() {
				continue
			}
			if err := readQueueGroup(filepath.Join(roots.DataDir(c), g.Name()), q); err != nil {
				return nil, err
			}
		}
	}
	q.Drained = q.Parts == 0
	return q, nil
}

// readQueueGroup adds one group's queue shards to q.
func readQueueGroup(dir string, q *repository.LiaisonQueue) error {
	shards, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cannot read the liaison's queue: %w", err)
	}
	for _, sh := range shards {
		if _, ok := banyandb.ShardNumber(sh.Name()); !ok || !sh.IsDir() {
			continue
		}
		shardDir := filepath.Join(dir, sh.Name())
		for _, p := range completeParts(shardDir) {
			q.Parts++
			q.Bytes += treeBytes(filepath.Join(shardDir, p.name))
			if q.OldestFlush == nil || p.mod.Before(*q.OldestFlush) {
				at := p.mod.UTC()
				q.OldestFlush = &at
			}
		}
		for _, p := range completeParts(filepath.Join(shardDir, "failed-parts")) {
			q.FailedParts++
			q.FailedBytes += treeBytes(filepath.Join(shardDir, "failed-parts", p.name))
		}
	}
	return nil
}

// partInfo is a complete part directory and its metadata.json's time.
type partInfo struct {
	name string
	mod  time.Time
}

// completeParts lists the part directories of dir that have their
// metadata.json.
func completeParts(dir string) []partInfo {
	entries, _ := os.ReadDir(dir)
	var out []partInfo
	for _, e := range entries {
		if !e.IsDir() || !banyandb.IsPartName(e.Name()) {
			continue
		}
		info, err := os.Stat(filepath.Join(dir, e.Name(), banyandb.PartMetadataFile))
		if err != nil {
			continue
		}
		out = append(out, partInfo{e.Name(), info.ModTime()})
	}
	return out
}

// treeBytes is the size of the regular files below dir.
func treeBytes(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
