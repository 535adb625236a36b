// Package backup takes a backup of a BanyanDB data root, or of a running
// node's snapshot, into a repository, in two steps: Upload scans the root,
// reuses unchanged files from the parent backup, stores the new blobs and
// trees and their index; Commit writes the manifest last. Run does both.
package backup

import (
	"context"

	"os"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Options says what to back up and how.
type Options struct {
	Roots    banyandb.Roots
	Catalogs []banyandb.Catalog
	// Groups selects group directories (none: all); schema-property's
	// _schema group is always kept.
	Groups []string
	// Location is the server's time zone, in which segment names are
	// written; nil means learn it from the segments' metadata, else use
	// the local zone (banyandb.ResolveZone). A zone the metadata
	// contradicts fails the backup with banyandb.ErrTimeZone.
	Location *time.Location
	// Parent names the backup whose unchanged files are reused ("" picks
	// the newest backup of the same roots).
	Parent string
	// ForceRehash reads every file even when the parent has it unchanged.
	ForceRehash bool
	Tags        []string
	ToolVersion string
	// Host names the node the backup is of, by which retention groups
	// backups; "" for the default (hostOf).
	Host string
	// ClusterOperation makes the backup a member of the cluster backup of
	// that id (repository.Manifest.ClusterOperation): it counts only once
	// a set records the operation, and is an orphan otherwise.
	ClusterOperation string
	// Workers reading files; 0 means GOMAXPROCS.
	Workers int
	// ReadLimit caps the bytes per second read from the source files, over
	// the whole backup and all workers; nil means no limit.
	ReadLimit *ratelimit.Limiter
	Progress  progress.Reporter
}

// sourceHooks are what a live backup adds to the backup of its snapshot
// directories; an offline backup has none.
type sourceHooks struct {
	// skipLockCheck: snapshot directories hold no server locks.
	skipLockCheck bool
	// source overrides the recorded source (the node).
	source *repository.Source
	// sourceRead is called once the source directories are no longer
	// needed (every file read, every directory stat'ed), before the last
	// packs are stored: a live backup starts deleting its snapshot then.
	sourceRead func()
	// partRead is called once every file of a part directory that this
	// backup reads has been stored, with the directory relative to the
	// catalog's data directory: a live backup deletes that part of its
	// snapshot then. It is called from the reading workers and must not
	// block.
	partRead func(c banyandb.Catalog, dir string)
	// emptyCatalogs are catalogs the node named a snapshot of, without an
	// error, but made no directory for: it has no group
	// (docs/banyandb.md, Snapshots). They are recorded as empty catalogs
	// and not scanned; Options.Catalogs does not name them.
	emptyCatalogs []banyandb.Catalog
	// liveRoots are the node's live data directories, from whose index
	// files the node wrote its snapshot's copies (origin.go).
	liveRoots *banyandb.Roots
	// recordLacking records in the manifest the parts the snapshot's .snp
	// files list but the snapshot lacks (lacking.go).
	recordLacking bool
	// skipFiles are files of the scanned data directories left out: the
	// claim file of a live backup's snapshot.
	skipFiles []string
}

// Result is a finished backup.
type Result struct {
	repository.Backup
	// SnapshotSeconds and SnapshotRemoveSeconds time a live backup's
	// snapshot call (the node's work) and the deletion of the snapshot.
	SnapshotSeconds, SnapshotRemoveSeconds float64
	// Recovered counts the packs a killed backup had stored without
	// indexing them, which this one adopted instead of uploading again.
	Recovered repository.Recovered
	// Preread counts what a live backup read from the live files while the
	// node took its snapshot, and how much of it the snapshot held.
	Preread PrereadStats
	// AbandonedSnapshots are the snapshot directories of killed backups
	// that a live backup removed before it took its own
	// (snapshot.RemoveAbandoned), and AbandonedSnapshotsError why some
	// could not be: the backup does not fail for it.
	AbandonedSnapshots      []string
	AbandonedSnapshotsError string
	// SnapshotRemoveError says why the snapshot of UploadTaken could not
	// all be removed ("" when it was).
	SnapshotRemoveError string
	// Zone is the zone segment names were read in, and how it was chosen.
	Zone banyandb.Zone
}

// Run takes one backup: Upload, then Commit. On error or cancellation no
// manifest is written, so the backup does not exist; packs already stored
// and indexed are reused by the next run.
func Run(ctx context.Context, repo *repository.Repository, opts Options) (*Result, error) {
	up, err := Upload(ctx, repo, opts)
	if err != nil {
		return nil, err
	}
	return up.Commit(ctx)
}

// Upload stores a backup of a stopped node's data root: it scans the
// roots, stores every blob and tree the repository lacks, and writes their
// index files, but no manifest: the backup does not exist until the
// returned upload is committed. The upload holds a shared lock on the
// repository until Commit or Release, so that no prune deletes what it
// stored meanwhile. On error nothing is held.
func Upload(ctx context.Context, repo *repository.Repository, opts Options) (*Uploaded, error) {
	return upload(ctx, repo, opts, sourceHooks{})
}

func upload(ctx context.Context, repo *repository.Repository, opts Options, hooks sourceHooks) (*Uploaded, error) {
	start := time.Now()
	if !hooks.skipLockCheck {
		if err := banyandb.CheckNotLocked(opts.Roots, opts.Catalogs); err != nil {
			return nil, err
		}
	}
	s, ctx, err := begin(ctx, repo)
	if err != nil {
		return nil, err
	}
	// The parent's trees load while the scan starts: the scan needs them
	// only at its first part directory, and both wait on the disk.
	s.startParent(ctx, opts, sourceOf(opts, hooks))
	up, err := s.upload(ctx, opts, hooks, start)
	if err != nil {
		s.end(ctx)
		return nil, s.failed(err)
	}
	return up, nil
}

// session is one backup's hold on the repository: its lock, the packs it
// adopted from a killed run, its saver, and its parent. A live backup
// opens it before asking the node for a snapshot, so that what does not
// need the snapshot overlaps the node's work.
type session struct {
	repo      *repository.Repository
	lock      *repository.Lock
	cancel    context.CancelFunc // of the context that ends when the lock is lost
	recovered repository.Recovered
	saver     *repository.Saver
	flushed   bool

	// parentHost is the host (the node, repository.Manifest.Host) the
	// parent must be of.
	parentHost string
	parentMu   sync.Mutex // parent and prev: a live backup's preread reads them while dropParent may run
	parent     *repository.Backup
	prev       *previous
	parentErr  error
	loaded     chan struct{}

	// pre holds what a live backup read while the node took its snapshot.
	pre *preread
}

// begin locks the repository and adopts the packs that killed backups
// left unindexed (only those their stale locks name: never the packs of a
// backup still running). The session's work runs under the returned
// context, which is cancelled if the lock is lost (another process judged
// it stale): the backup then stops, and commits nothing.
func begin(ctx context.Context, repo *repository.Repository) (*session, context.Context, error) {
	return beginOp(ctx, repo, "backup")
}

// beginOp is begin for operation (the lock's "backup" or "copy").
func beginOp(ctx context.Context, repo *repository.Repository, operation string) (*session, context.Context, error) {
	lock, err := repo.Lock(ctx, operation, false)
	if err != nil {
		return nil, nil, err
	}
	lctx, cancel := lock.Context(ctx)
	recovered, err := repo.AdoptPacks(lctx, lock)
	if err != nil {
		cancel()
		_ = lock.Unlock(ctx)
		return nil, nil, err
	}
	return &session{repo: repo, lock: lock, cancel: cancel, recovered: recovered}, lctx, nil
}

// end stops a saver that was not flushed (indexing the packs it stored, so
// that the next backup reuses them) and releases the lock. Nothing may be
// saving any more.
func (s *session) end(ctx context.Context) {
	s.pre.abort()
	_ = s.pre.wait() // no Save may run when the saver stops
	if s.saver != nil && !s.flushed {
		s.saver.Abort(context.WithoutCancel(ctx))
	}
	_ = s.lock.Unlock(ctx)
	s.cancel()
}

// failed is the error an upload that failed with err reports: the loss of
// its lock when that is what stopped it.
func (s *session) failed(err error) error {
	if lost := s.lock.Err(); lost != nil {
		return lost
	}
	return err
}

// newSaver starts the session's saver once; its packs are recorded in the
// session's lock until indexed.
func (s *session) newSaver(ctx context.Context) *repository.Saver {
	if s.saver == nil {
		s.saver = s.lock.NewSaver(ctx)
	}
	return s.saver
}

// startParent finds and indexes the parent backup in the background;
// waitParent returns it.
func (s *session) startParent(ctx context.Context, opts Options, src repository.Source) {
	if s.parentHost == "" {
		// Several nodes backed up into one repository often keep their
		// data at the same path, and part names repeat between nodes: a
		// parent of another node could lend its files to this one where
		// inode and times happen to agree. So the parent is of the same
		// node as well as of the same roots.
		_, s.parentHost = hostOf(opts, src)
	}
	s.loaded = make(chan struct{})
	go func() {
		defer close(s.loaded)
		parent, prev, err := loadParent(ctx, s.repo, opts, src, s.parentHost)
		s.parentMu.Lock()
		defer s.parentMu.Unlock()
		s.parent, s.prev, s.parentErr = parent, prev, err
	}()
}

func (s *session) waitParent() (*repository.Backup, *previous, error) {
	<-s.loaded
	s.parentMu.Lock()
	defer s.parentMu.Unlock()
	return s.parent, s.prev, s.parentErr
}

// dropParent makes the backup a full one (after waitParent).
func (s *session) dropParent() {
	s.parentMu.Lock()
	defer s.parentMu.Unlock()
	s.parent, s.prev = nil, newPrevious()
}

// upload scans the roots, stores what the parent lacks and flushes the
// index, and returns the upload holding the session. start is when the
// backup began, for its recorded duration.
func (s *session) upload(ctx context.Context, opts Options, hooks sourceHooks, start time.Time) (*Uploaded, error) {
	repo := s.repo
	rep := progress.OrNop(opts.Progress)
	src := sourceOf(opts, hooks)
	scan := banyandb.ScanOptions{Catalogs: opts.Catalogs, Groups: opts.Groups, Location: opts.Location, SkipFiles: hooks.skipFiles}
	if !opts.ForceRehash {
		scan.ReusePart = func(c banyandb.Catalog, rel string, id banyandb.PartDirID) bool {
			_, prev, err := s.waitParent()
			return err == nil && prev.reusesPart(repo, c, rel, id, hooks.liveRoots != nil)
		}
	}
	layout, err := &banyandb.Layout{}, error(nil)
	if len(opts.Catalogs) > 0 || len(hooks.emptyCatalogs) == 0 { // else every catalog is empty
		rep.Start("scan", 0, 0)
		layout, err = banyandb.Scan(ctx, opts.Roots, scan)
		rep.Done()
	}
	// A live backup's preread hands over here: from now on the backup
	// proper reads what it has not (lookup waits for the files in hand).
	s.pre.stop()
	parent, prev, parentErr := s.waitParent()
	if parentErr != nil {
		return nil, parentErr
	}
	if err != nil {
		return nil, err
	}
	var lacking []repository.LackingParts
	if hooks.recordLacking {
		lacking = lackingParts(opts.Roots, layout)
	}
	layout.Catalogs = withCatalogs(layout.Catalogs, hooks.emptyCatalogs)
	if hooks.source == nil {
		src.Roots = rootsOf(opts.Roots, layout)
	}
	saver := s.newSaver(ctx)
	files, sum, err := storeFiles(ctx, repo, saver, layout, prev, s.pre, opts, hooks, rep)
	if err != nil {
		return nil, err
	}
	root, err := buildTrees(ctx, saver, opts.Roots, layout, files, prev, hooks.emptyCatalogs, workers(opts))
	if err != nil {
		return nil, err
	}
	if hooks.sourceRead != nil {
		hooks.sourceRead()
	}
	if err := s.pre.wait(); err != nil {
		return nil, err
	}
	s.flushed = true
	stats, err := saver.Flush(ctx)
	if err != nil {
		return nil, err
	}
	runner, host := hostOf(opts, src)
	m := &repository.Manifest{
		Format: repository.ManifestFormat, Time: repo.Now().UTC(), Hostname: host, Runner: runner, ToolVersion: opts.ToolVersion,
		Tags: opts.Tags, Source: src, Tree: root, Segments: segmentRecords(layout), LackingParts: lacking,
		ClusterOperation: opts.ClusterOperation,
	}
	for _, c := range layout.Catalogs {
		m.Catalogs = append(m.Catalogs, string(c))
	}
	if parent != nil {
		m.Parent = &parent.ID
	}
	if layout.Zone.Location != nil {
		m.ServerZone = &repository.ZoneRecord{Name: layout.Zone.Name(), Source: string(layout.Zone.Source)}
	}
	sum.BlobsAdded, sum.PacksAdded, sum.BytesAdded = stats.BlobsAdded, stats.PacksAdded, stats.BytesAdded
	sum.DurationSeconds = time.Since(start).Seconds()
	m.Summary = sum
	return &Uploaded{s: s, manifest: m, result: Result{Recovered: s.recovered, Preread: s.pre.stats(), Zone: layout.Zone}}, nil
}

// hostOf returns the machine running the backup and the node the backup
// is of: opts.Host, else for a live backup the node's host
// (repository.NodeHost), else the runner.
func hostOf(opts Options, src repository.Source) (runner, host string) {
	runner, err := os.Hostname()
	if err != nil || runner == "" {
		runner = "unknown"
	}
	switch {
	case opts.Host != "":
		return runner, opts.Host
	case src.Type == "node":
		return runner, repository.NodeHost(src.Node, runner)
	}
	return runner, runner
}

// sourceOf is the recorded source; for a data root, the data directories
// of the catalogs asked for (rootsOf narrows them to those found).
func sourceOf(opts Options, hooks sourceHooks) repository.Source {
	if hooks.source != nil {
		return *hooks.source
	}
	src := repository.Source{Type: "root", Roots: map[string]string{}}
	for _, c := range requestedCatalogs(opts.Catalogs) {
		src.Roots[string(c)] = opts.Roots.DataDir(c)
	}
	return src
}

// requestedCatalogs is the catalogs asked for (none: all).
func requestedCatalogs(cats []banyandb.Catalog) []banyandb.Catalog {
	if len(cats) == 0 {
		return banyandb.AllCatalogs()
	}
	return cats
}

func rootsOf(roots banyandb.Roots, layout *banyandb.Layout) map[string]string {
	out := map[string]string{}
	for _, c := range layout.Catalogs {
		out[string(c)] = roots.DataDir(c)
	}
	return out
}

// withCatalogs adds the catalogs extra to cats, in AllCatalogs order.
func withCatalogs(cats, extra []banyandb.Catalog) []banyandb.Catalog {
	if len(extra) == 0 {
		return cats
	}
	var out []banyandb.Catalog
	for _, c := range banyandb.AllCatalogs() {
		if slices.Contains(cats, c) || slices.Contains(extra, c) {
			out = append(out, c)
		}
	}
	return out
}

func workers(opts Options) int {
	if opts.Workers > 0 {
		return opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func segmentRecords(l *banyandb.Layout) []repository.SegmentRecord {
	out := make([]repository.SegmentRecord, 0, len(l.Segments))
	for _, s := range l.Segments {
		out = append(out, repository.SegmentRecord{Catalog: string(s.Catalog), Group: s.Group, Name: s.Name,
			SegmentInfo: repository.SegmentInfo{Start: s.Start.UTC(), End: s.End.UTC(), EndKnown: s.EndKnown, Version: s.Version}})
	}
	return out
}
