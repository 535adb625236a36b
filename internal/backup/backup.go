// Package backup takes a backup of a BanyanDB data root into a repository:
// it scans the root, reuses unchanged files from the parent backup, stores
// the new blobs, builds the trees and writes the manifest last.
package backup

import (
	"context"
	"fmt"
	"os"
	"path"
	"runtime"
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
	// Location is the server's time zone for segment names; nil = Local.
	Location *time.Location
	// Parent names the backup whose unchanged files are reused ("" picks
	// the newest backup of the same roots).
	Parent string
	// ForceRehash reads every file even when the parent has it unchanged.
	ForceRehash bool
	// SkipLockCheck is for snapshot directories, which hold no server locks.
	SkipLockCheck bool
	// SourceRead, when set, is called once the source directories are no
	// longer needed (every file read, every directory stat'ed), before the
	// last packs and the manifest are written: a live backup starts
	// deleting its snapshot then.
	SourceRead func()
	// PartRead, when set, is called once every file of a part directory
	// that this backup reads has been stored, with the directory relative
	// to the catalog's data directory: a live backup deletes that part of
	// its snapshot then. It is called from the reading workers and must
	// not block.
	PartRead    func(c banyandb.Catalog, dir string)
	Tags        []string
	ToolVersion string
	// Source overrides the recorded source (live-node backups).
	Source *repository.Source
	// Workers reading files; 0 means GOMAXPROCS.
	Workers int
	// ReadLimit caps the bytes per second read from the source files, over
	// the whole backup and all workers; nil means no limit.
	ReadLimit *ratelimit.Limiter
	Progress  progress.Reporter
}

// Result is a finished backup.
type Result struct {
	ID       repository.ID
	Manifest *repository.Manifest
	// SnapshotSeconds and SnapshotRemoveSeconds time a live backup's
	// snapshot call (the node's work) and the deletion of the snapshot.
	SnapshotSeconds, SnapshotRemoveSeconds float64
	// Recovered counts the packs an interrupted backup had stored without
	// indexing them, which this one adopted instead of uploading again.
	Recovered repository.Recovered
	// Preread counts what a live backup read from the live files while the
	// node took its snapshot, and how much of it the snapshot held.
	Preread PrereadStats
}

// Run takes one backup. On error or cancellation no manifest is written, so
// the backup does not exist; packs already stored and indexed are reused by
// the next run.
func Run(ctx context.Context, repo *repository.Repository, opts Options) (*Result, error) {
	start := time.Now()
	if !opts.SkipLockCheck {
		if err := banyandb.CheckNotLocked(opts.Roots, opts.Catalogs); err != nil {
			return nil, err
		}
	}
	s, err := begin(ctx, repo)
	if err != nil {
		return nil, err
	}
	defer s.end(ctx)
	// The parent's trees load while the scan starts: the scan needs them
	// only at its first part directory, and both wait on the disk.
	s.startParent(ctx, opts, sourceOf(opts))
	return s.backup(ctx, opts, start)
}

// session is one backup's hold on the repository: its lock, the packs it
// adopted from an interrupted run, its saver, and its parent. A live
// backup opens it before asking the node for a snapshot, so that what does
// not need the snapshot overlaps the node's work.
type session struct {
	repo      *repository.Repository
	lock      *repository.Lock
	recovered repository.Recovered
	saver     *repository.Saver
	flushed   bool

	parentMu  sync.Mutex // parent and prev: a live backup's preread reads them while dropParent may run
	parent    *repository.Backup
	prev      *previous
	parentErr error
	loaded    chan struct{}

	// pre holds what a live backup read while the node took its snapshot.
	pre *preread
}

// begin locks the repository and adopts the packs an interrupted backup
// left unindexed.
func begin(ctx context.Context, repo *repository.Repository) (*session, error) {
	lock, err := repo.Lock(ctx, "backup", false)
	if err != nil {
		return nil, err
	}
	recovered, err := repo.RecoverPacks(ctx)
	if err != nil {
		_ = lock.Unlock(ctx)
		return nil, err
	}
	return &session{repo: repo, lock: lock, recovered: recovered}, nil
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
}

// newSaver starts the session's saver once.
func (s *session) newSaver(ctx context.Context) *repository.Saver {
	if s.saver == nil {
		s.saver = s.repo.NewSaver(ctx)
	}
	return s.saver
}

// startParent finds and indexes the parent backup in the background;
// waitParent returns it.
func (s *session) startParent(ctx context.Context, opts Options, src repository.Source) {
	s.loaded = make(chan struct{})
	go func() {
		defer close(s.loaded)
		parent, prev, err := loadParent(ctx, s.repo, opts, src)
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

// backup scans the roots, stores what the parent lacks and writes the
// manifest. start is when the backup began, for its recorded duration.
func (s *session) backup(ctx context.Context, opts Options, start time.Time) (*Result, error) {
	repo := s.repo
	rep := progress.OrNop(opts.Progress)
	src := sourceOf(opts)
	scan := banyandb.ScanOptions{Catalogs: opts.Catalogs, Groups: opts.Groups, Location: opts.Location}
	if !opts.ForceRehash {
		scan.ReusePart = func(c banyandb.Catalog, rel string, mtime time.Time, inode uint64) bool {
			_, prev, err := s.waitParent()
			return err == nil && prev.reusesPart(repo, c, rel, mtime, inode)
		}
	}
	layout, err := banyandb.Scan(ctx, opts.Roots, scan)
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
	if opts.Source == nil {
		src.Roots = rootsOf(opts.Roots, layout)
	}
	saver := s.newSaver(ctx)
	files, sum, err := storeFiles(ctx, repo, saver, layout, prev, s.pre, opts, rep)
	if err != nil {
		return nil, err
	}
	root, err := buildTrees(ctx, saver, opts.Roots, layout, files, prev)
	if err != nil {
		return nil, err
	}
	if opts.SourceRead != nil {
		opts.SourceRead()
	}
	if err := s.pre.wait(); err != nil {
		return nil, err
	}
	s.flushed = true
	stats, err := saver.Flush(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	m := &repository.Manifest{
		Format: repository.ManifestFormat, Time: repo.Now().UTC(), Hostname: host, ToolVersion: opts.ToolVersion,
		Tags: opts.Tags, Source: src, Tree: root, Segments: segmentRecords(layout),
	}
	for _, c := range layout.Catalogs {
		m.Catalogs = append(m.Catalogs, string(c))
	}
	if parent != nil {
		m.Parent = &parent.ID
	}
	sum.BlobsAdded, sum.PacksAdded, sum.BytesAdded = stats.BlobsAdded, stats.PacksAdded, stats.BytesAdded
	sum.DurationSeconds = time.Since(start).Seconds()
	m.Summary = sum
	// The manifest's own size is part of what the repository grew by, but
	// it cannot contain itself: it is added to the returned copy.
	id, n, err := repo.SaveManifest(ctx, m)
	if err != nil {
		return nil, err
	}
	m.Summary.BytesAdded += n
	return &Result{ID: id, Manifest: m, Recovered: s.recovered, Preread: s.pre.stats()}, nil
}

// sourceOf is the recorded source; for a data root, the data directories
// of the catalogs asked for (rootsOf narrows them to those found).
func sourceOf(opts Options) repository.Source {
	if opts.Source != nil {
		return *opts.Source
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

func workers(opts Options) int {
	if opts.Workers > 0 {
		return opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// previous is what the parent backup recorded, by path in the root tree:
// its files outside part directories, and its part directories (whose
// contents are not loaded: parts are immutable).
// A live backup's preread (through file) and scan (reusesPart) use it at
// once, under mu; after the preread stops, the backup proper alone does.
type previous struct {
	mu    sync.Mutex
	files map[string]*repository.Node
	parts map[string]*repository.Node
}

func newPrevious() *previous {
	return &previous{files: map[string]*repository.Node{}, parts: map[string]*repository.Node{}}
}

// reusesPart accepts a part directory the parent recorded with the same
// inode and modification time, whose subtree the repository still has.
func (p *previous) reusesPart(repo *repository.Repository, c banyandb.Catalog, rel string, mtime time.Time, inode uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.parts[nodePath(c, rel)]
	return n != nil && n.Subtree != nil && n.Inode == inode && n.ModTime.Equal(mtime) && repo.Index().Has(*n.Subtree)
}

// file returns the parent's node for a file. A file inside a part directory
// that could not be reused as a whole (its directory changed) is looked up
// in that part's subtree, loaded on first need.
func (p *previous) file(ctx context.Context, repo *repository.Repository, treePath string) (*repository.Node, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n, ok := p.files[treePath]; ok {
		return n, nil
	}
	dir := path.Dir(treePath)
	part, ok := p.parts[dir]
	if !ok || part.Subtree == nil {
		return nil, nil
	}
	delete(p.parts, dir)
	t, err := repo.LoadTree(ctx, *part.Subtree)
	if err != nil {
		return nil, fmt.Errorf("cannot read parent backup: %w", err)
	}
	for i := range t.Entries {
		if n := &t.Entries[i]; n.Type == repository.NodeFile {
			p.files[dir+"/"+n.Name] = n
		}
	}
	return p.files[treePath], nil
}

// loadParent finds the parent backup and indexes what it recorded.
func loadParent(ctx context.Context, repo *repository.Repository, opts Options, src repository.Source) (*repository.Backup, *previous, error) {
	prev := newPrevious()
	var parent *repository.Backup
	if opts.Parent != "" {
		b, err := repo.FindBackup(ctx, opts.Parent)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot use parent: %w", err)
		}
		parent = &b
	} else {
		backups, err := repo.Backups(ctx)
		if err != nil {
			return nil, nil, err
		}
		for i := len(backups) - 1; i >= 0; i-- {
			if sameRoots(backups[i].Source.Roots, src.Roots) {
				parent = &backups[i]
				break
			}
		}
	}
	if parent == nil {
		return nil, prev, nil
	}
	l := &parentLoader{repo: repo, prev: prev, force: opts.ForceRehash, sem: make(chan struct{}, workers(opts))}
	l.load(ctx, parent.Tree, "")
	l.wg.Wait()
	if l.err != nil {
		return nil, nil, fmt.Errorf("cannot read parent backup %s: %w", parent.ID.Short(), l.err)
	}
	return parent, prev, nil
}

// parentLoader decodes the parent's trees on several goroutines; part
// directories are recorded, not descended into.
type parentLoader struct {
	repo  *repository.Repository
	prev  *previous
	force bool
	sem   chan struct{}
	wg    sync.WaitGroup
	mu    sync.Mutex
	err   error
}

func (l *parentLoader) load(ctx context.Context, id repository.ID, prefix string) {
	t, err := l.repo.LoadTree(ctx, id)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil || l.err != nil {
		if l.err == nil {
			l.err = err
		}
		return
	}
	for i := range t.Entries {
		n := &t.Entries[i]
		p := n.Name
		if prefix != "" {
			p = prefix + "/" + n.Name
		}
		switch {
		case n.Type == repository.NodeFile:
			l.prev.files[p] = n
		case n.Subtree == nil:
		case banyandb.IsPartName(n.Name) && !l.force:
			l.prev.parts[p] = n
		default:
			l.wg.Add(1)
			go func(id repository.ID) {
				defer l.wg.Done()
				l.sem <- struct{}{}
				defer func() { <-l.sem }()
				l.load(ctx, id, p)
			}(*n.Subtree)
		}
	}
}

// sameRoots reports whether a backup of roots a can be the parent of one
// of roots b: every catalog of b that a had is at the same place.
func sameRoots(a, b map[string]string) bool {
	shared := 0
	for k, v := range b {
		if av, ok := a[k]; ok {
			if av != v {
				return false
			}
			shared++
		}
	}
	return shared > 0
}

func segmentRecords(l *banyandb.Layout) []repository.SegmentRecord {
	out := make([]repository.SegmentRecord, 0, len(l.Segments))
	for _, s := range l.Segments {
		out = append(out, repository.SegmentRecord{Catalog: string(s.Catalog), Group: s.Group, Name: s.Name,
			SegmentInfo: repository.SegmentInfo{Start: s.Start.UTC(), End: s.End.UTC(), EndKnown: s.EndKnown, Version: s.Version}})
	}
	return out
}
