package backup

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// LiveOptions adds what a backup of a running node needs.
type LiveOptions struct {
	// Node says how to reach the node's snapshot API.
	Node snapshot.Options
	// Groups selects groups (none: all of the selected catalogs).
	Groups []string
	// KeepSnapshot leaves the node's snapshot directories in place.
	KeepSnapshot bool
}

// ErrSnapshotFailed is returned when the node reports an error for a
// catalog's snapshot: that is a failed backup, never an empty one.
var ErrSnapshotFailed = errors.New("node failed to take a snapshot")

// RunLive backs up a running node: it asks the node for a snapshot (hard
// links of the live parts, docs/banyandb.md, Snapshots), backs up the snapshot directories in
// place of the data directories, and deletes the snapshot directories it
// asked for, whatever happens, unless told to keep them. Nothing else under
// the roots is touched. The manifest records the node and its API version.
//
// While the node takes the snapshot, the repository is locked, the parent
// found, and the live part files read (preread.go): the node's linking and
// the backup's reading overlap.
func RunLive(ctx context.Context, repo *repository.Repository, opts Options, live LiveOptions) (res *Result, err error) {
	client, err := snapshot.Dial(ctx, live.Node)
	if err != nil {
		return nil, err
	}
	defer client.Close()
	version, err := client.APIVersion(ctx)
	if err != nil {
		return nil, err
	}
	req, wanted, err := snapshot.Request(opts.Catalogs, live.Groups)
	if err != nil {
		return nil, err
	}
	src := repository.Source{Type: "node", Node: live.Node.Node, APIVersion: version.Version, Roots: map[string]string{}}
	if version.Revision != "" {
		src.APIVersion += " (" + version.Revision + ")"
	}
	s, err := begin(ctx, repo)
	if err != nil {
		return nil, err
	}
	defer s.end(ctx)
	// The parent is picked by the catalogs asked for; the snapshot may
	// bring fewer (empty groups are skipped), checked below.
	asked := opts
	asked.Groups = plainGroups(live.Groups)
	guess := src
	guess.Roots = sourceOf(Options{Roots: opts.Roots, Catalogs: opts.Catalogs}).Roots // a new map: src.Roots is filled below
	s.startParent(ctx, asked, guess)
	s.pre = startPreread(ctx, s, asked)

	snapStart := time.Now()
	taken, err := client.Snapshot(ctx, req)
	snapSeconds := time.Since(snapStart).Seconds()
	start := time.Now()
	if err != nil {
		s.pre.abort()
		// The answer may have named snapshots before it went wrong.
		if !live.KeepSnapshot {
			_ = snapshot.Remove(opts.Roots, taken)
		}
		return nil, err
	}
	// The snapshot is deleted on every path unless kept: once the backup
	// has read it (in parallel with the writing of the last packs and the
	// manifest), else when RunLive returns. A failure here leaves disk
	// used, never data lost, and the message names what to remove.
	var (
		removeOnce    sync.Once
		removed       = make(chan struct{})
		removeErr     error
		removeSeconds float64
		early         *earlyRemover // part directories already read
	)
	if !live.KeepSnapshot {
		early = startEarlyRemover()
	}
	startRemoval := func() {
		removeOnce.Do(func() {
			go func() {
				defer close(removed)
				start := time.Now()
				early.stop()
				removeErr = snapshot.Remove(opts.Roots, made(taken))
				removeSeconds = time.Since(start).Seconds()
			}()
		})
	}
	if !live.KeepSnapshot {
		defer func() {
			startRemoval()
			<-removed
			if res != nil {
				res.SnapshotRemoveSeconds = removeSeconds
			}
			if removeErr != nil && err == nil {
				res, err = nil, fmt.Errorf("backup %s saved, but cannot remove the node's snapshot: %w", res.ID.Short(), removeErr)
			}
		}()
	}
	for _, t := range taken {
		if t.Error != "" {
			return nil, fmt.Errorf("%w: %s: %s: the server answered: %s", ErrSnapshotFailed, live.Node.Node, t.Catalog, t.Error)
		}
	}

	roots := opts.Roots
	roots.Data = map[banyandb.Catalog]string{}
	var cats []banyandb.Catalog
	for _, t := range taken {
		if !wanted(t) {
			continue
		}
		roots.Data[t.Catalog] = snapshot.Dir(opts.Roots, t)
		src.Roots[string(t.Catalog)] = opts.Roots.DataDir(t.Catalog)
		cats = append(cats, t.Catalog)
	}
	if len(cats) == 0 {
		return nil, fmt.Errorf("cannot back up %s: the node took no snapshot of the selected catalogs and groups (empty groups are skipped)", live.Node.Node)
	}
	if parent, _, err := s.waitParent(); err == nil && parent != nil && !sameRoots(parent.Source.Roots, src.Roots) {
		s.dropParent()
	}
	o := opts
	o.Roots, o.Catalogs, o.Source, o.SkipLockCheck, o.Groups = roots, cats, &src, true, asked.Groups
	if !live.KeepSnapshot {
		o.SourceRead = startRemoval
		o.PartRead = func(c banyandb.Catalog, dir string) {
			early.add(filepath.Join(roots.Data[c], filepath.FromSlash(dir)))
		}
	}
	res, err = s.backup(ctx, o, start)
	if res != nil {
		res.SnapshotSeconds = snapSeconds
	}
	return res, err
}

// plainGroups drops the catalog of "catalog/group" selections: the scan of
// each catalog's snapshot matches group directory names.
func plainGroups(groups []string) []string {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		if _, name, ok := strings.Cut(g, "/"); ok {
			g = name
		}
		out = append(out, g)
	}
	return out
}

// made lists the snapshots the node created (an answer with an error has
// no directory).
func made(taken []snapshot.Taken) []snapshot.Taken {
	var out []snapshot.Taken
	for _, t := range taken {
		if t.Error == "" {
			out = append(out, t)
		}
	}
	return out
}
