package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/progress"
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

// RunLive backs up a running node: UploadLive, then Commit.
func RunLive(ctx context.Context, repo *repository.Repository, opts Options, live LiveOptions) (*Result, error) {
	up, err := UploadLive(ctx, repo, opts, live)
	if err != nil {
		return nil, err
	}
	return up.Commit(ctx)
}

// UploadLive uploads a backup of a running node, as Upload does for a
// stopped one: it asks the node for a snapshot (hard links of the live
// parts; docs/banyandb.md, Snapshots), backs up the snapshot
// directories in place of the data directories, and deletes the snapshot
// directories it asked for before returning, whatever happens (a cancelled
// ctx included: the node's answer is waited for, within the call timeout,
// so that its snapshot is known), unless told to keep them. Nothing else
// under the roots is touched, but for the snapshots of backups that were
// killed (RemoveAbandoned), which it deletes first. The manifest
// records the node and its API version, and the parts the snapshot's .snp
// files list but it lacks, which the node held in memory (LackingParts). A
// catalog the node names a snapshot of without making its directory has no
// group: it is backed up as an empty catalog; one whose answer carries an
// error fails the backup (ErrSnapshotFailed). Roots that are not the node's
// fail it with ErrRootMismatch, before the node is asked for a snapshot when
// that can be told (checkLiveRoots).
//
// While the node takes the snapshot, the repository is locked, the parent
// found, and the live part files read (preread.go): the node's linking and
// the backup's reading overlap.
func UploadLive(ctx context.Context, repo *repository.Repository, opts Options, live LiveOptions) (*Uploaded, error) {
	if err := checkLiveRoots(live.Node.Node, opts.Roots, opts.Catalogs); err != nil {
		return nil, err
	}
	n, err := dialNode(ctx, opts, live)
	if err != nil {
		return nil, err
	}
	defer n.client.Close()
	s, ctx, err := begin(ctx, repo)
	if err != nil {
		return nil, err
	}
	up, err := n.upload(ctx, s)
	if err != nil {
		s.end(ctx)
		return nil, s.failed(err)
	}
	return up, nil
}

// liveNode is a live backup's connection to its node and what it asks.
type liveNode struct {
	opts   Options
	live   LiveOptions
	client snapshot.Client
	req    []snapshot.Group
	wanted func(snapshot.Taken) bool
	src    repository.Source // the node; Roots filled from the snapshot
}

func dialNode(ctx context.Context, opts Options, live LiveOptions) (*liveNode, error) {
	client, err := snapshot.Dial(ctx, live.Node)
	if err != nil {
		return nil, err
	}
	version, err := client.APIVersion(ctx)
	if err == nil {
		var n *liveNode
		n, err = newLiveNode(client, opts, live, version)
		if err == nil {
			return n, nil
		}
	}
	client.Close()
	return nil, err
}

func newLiveNode(client snapshot.Client, opts Options, live LiveOptions, version snapshot.Version) (*liveNode, error) {
	req, wanted, err := snapshot.Request(opts.Catalogs, live.Groups)
	if err != nil {
		return nil, err
	}
	src := repository.Source{Type: "node", Node: live.Node.Node, APIVersion: version.Version, Roots: map[string]string{}}
	if version.Revision != "" {
		src.APIVersion += " (" + version.Revision + ")"
	}
	return &liveNode{opts: opts, live: live, client: client, req: req, wanted: wanted, src: src}, nil
}

// parentGuess is the source the parent is looked for by, before the
// snapshot says which catalogs it holds: the node, with the data
// directories of the catalogs asked for (a new map: src.Roots is filled
// later).
func (n *liveNode) parentGuess() repository.Source {
	guess := n.src
	guess.Roots = sourceOf(Options{Roots: n.opts.Roots, Catalogs: n.opts.Catalogs}, sourceHooks{}).Roots
	return guess
}

// upload takes the snapshot and backs it up under the session s.
func (n *liveNode) upload(ctx context.Context, s *session) (*Uploaded, error) {
	opts := n.opts
	// The parent is picked by the catalogs asked for; the snapshot may
	// bring fewer (empty groups are skipped), checked below.
	asked := opts
	asked.Groups = plainGroups(n.live.Groups)
	s.startParent(ctx, asked, n.parentGuess())
	s.pre = startPreread(ctx, s, asked)

	abandoned, abandonedErr := snapshot.RemoveAbandoned(opts.Roots)
	snapStart := time.Now()
	rep := progress.OrNop(opts.Progress)
	rep.Start("snapshot", 0, 0)
	taken, claim, err := n.takeSnapshot(ctx)
	rep.Done()
	snapSeconds := time.Since(snapStart).Seconds()
	start := time.Now()
	if err != nil {
		s.pre.abort()
		return nil, err
	}
	up, removeErr, err := n.uploadClaimed(ctx, s, asked, taken, claim, start)
	if err != nil {
		return nil, err
	}
	up.result.SnapshotSeconds = snapSeconds
	up.result.AbandonedSnapshots = abandoned
	if abandonedErr != nil {
		up.result.AbandonedSnapshotsError = abandonedErr.Error()
	}
	if removeErr != nil {
		up.afterCommit = func(res *Result) (*Result, error) {
			return nil, fmt.Errorf("backup %s saved, but cannot remove the node's snapshot: %w", res.ID.Short(), removeErr)
		}
	}
	return up, nil
}

// uploadClaimed backs up the snapshot taken, whose directories claim
// holds, and lets the claim go once they are removed. The snapshot is
// deleted on every path unless kept: its part directories as soon as they
// are read, the rest once the backup has read it (in parallel with the
// storing of the last packs), else when the upload fails. A failure to
// delete leaves disk used, never data lost: it is returned apart
// (removeErr), and its message names what to remove.
func (n *liveNode) uploadClaimed(ctx context.Context, s *session, asked Options, taken []snapshot.Taken,
	claim *snapshot.Claim, start time.Time) (up *Uploaded, removeErr, err error) {
	var rm *snapshotRemoval
	if !n.live.KeepSnapshot {
		rm = startSnapshotRemoval(asked.Roots, made(taken))
	}
	up, err = n.uploadSnapshot(ctx, s, asked, taken, rm, start)
	removeSeconds, removeErr := rm.wait()
	claim.Release()
	if err != nil {
		return nil, nil, err
	}
	up.result.SnapshotRemoveSeconds = removeSeconds
	return up, removeErr, nil
}

// takeSnapshot asks the node for its snapshot, checks that it landed under
// the roots and claims its directories (snapshot.ClaimSnapshots), so that
// if this process is killed, the next live backup removes them. The answer
// is waited for even when ctx is cancelled meanwhile (up to the call
// timeout): the node finishes a snapshot whoever is waiting, and only its
// answer names the directories to remove. On error, the snapshot
// directories under the roots are removed (unless kept) and nothing is
// claimed; a cancelled ctx gives its error.
func (n *liveNode) takeSnapshot(ctx context.Context) ([]snapshot.Taken, *snapshot.Claim, error) {
	taken, err := n.client.Snapshot(context.WithoutCancel(ctx), n.req)
	if err == nil {
		err = checkTakenUnderRoots(n.live.Node.Node, n.opts.Roots, taken, plainGroups(n.live.Groups))
	}
	var claim *snapshot.Claim
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("cannot back up node %s: %w", n.live.Node.Node, context.Cause(ctx))
	}
	if err == nil && !n.live.KeepSnapshot {
		claim, err = snapshot.ClaimSnapshots(n.opts.Roots, made(taken), n.live.Node.Node)
	}
	if err != nil {
		// The answer may have named snapshots before it went wrong.
		if !n.live.KeepSnapshot {
			_ = snapshot.Remove(n.opts.Roots, made(taken))
		}
		return nil, nil, err
	}
	return taken, claim, nil
}

// uploadSnapshot backs up the snapshot directories the node made.
func (n *liveNode) uploadSnapshot(ctx context.Context, s *session, asked Options, taken []snapshot.Taken,
	rm *snapshotRemoval, start time.Time) (*Uploaded, error) {
	for _, t := range taken {
		if t.Error != "" {
			return nil, fmt.Errorf("%w: %s: %s: the server answered: %s", ErrSnapshotFailed, n.live.Node.Node, t.Catalog, t.Error)
		}
	}
	src := n.src
	roots := asked.Roots
	roots.Data = map[banyandb.Catalog]string{}
	var cats, empty []banyandb.Catalog
	for _, t := range taken {
		if !n.wanted(t) {
			continue
		}
		src.Roots[string(t.Catalog)] = asked.Roots.DataDir(t.Catalog)
		// A catalog without groups gets no snapshot directory, though the
		// node names its snapshot without an error (docs/banyandb.md,
		// Snapshots): an empty catalog, not a failure.
		if _, err := os.Lstat(snapshot.SnapshotDir(asked.Roots, t)); errors.Is(err, fs.ErrNotExist) {
			empty = append(empty, t.Catalog)
			continue
		}
		roots.Data[t.Catalog] = snapshot.Dir(asked.Roots, t)
		cats = append(cats, t.Catalog)
	}
	if len(cats)+len(empty) == 0 {
		return nil, fmt.Errorf("cannot back up %s: the node took no snapshot of the selected catalogs and groups (empty groups are skipped)", n.live.Node.Node)
	}
	if parent, _, err := s.waitParent(); err == nil && parent != nil && !sameRoots(parent.Source.Roots, src.Roots) {
		s.dropParent()
	}
	o := asked
	o.Roots, o.Catalogs = roots, cats
	hooks := sourceHooks{skipLockCheck: true, source: &src, emptyCatalogs: empty, recordLacking: true, liveRoots: &asked.Roots,
		skipFiles: []string{snapshot.ClaimFile}}
	if rm != nil {
		hooks.sourceRead = rm.start
		hooks.partRead = func(c banyandb.Catalog, dir string) {
			rm.early.add(filepath.Join(roots.Data[c], filepath.FromSlash(dir)))
		}
	}
	return s.upload(ctx, o, hooks, start)
}

// snapshotRemoval deletes a live backup's snapshot: part directories as
// soon as they are read (early), the rest once the backup has read the
// snapshot (start) or has failed (wait). A nil removal (the snapshot is
// kept) does nothing.
type snapshotRemoval struct {
	roots   banyandb.Roots
	taken   []snapshot.Taken
	early   *earlyRemover
	once    sync.Once
	done    chan struct{}
	err     error
	seconds float64
}

func startSnapshotRemoval(roots banyandb.Roots, taken []snapshot.Taken) *snapshotRemoval {
	return &snapshotRemoval{roots: roots, taken: taken, early: startEarlyRemover(), done: make(chan struct{})}
}

// start begins the final removal in the background, once.
func (r *snapshotRemoval) start() {
	r.once.Do(func() {
		go func() {
			defer close(r.done)
			start := time.Now()
			r.early.stop()
			r.err = snapshot.Remove(r.roots, r.taken)
			r.seconds = time.Since(start).Seconds()
		}()
	})
}

// wait starts the removal if need be and waits for it; it returns how
// long the final removal took and its error.
func (r *snapshotRemoval) wait() (float64, error) {
	if r == nil {
		return 0, nil
	}
	r.start()
	<-r.done
	return r.seconds, r.err
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
