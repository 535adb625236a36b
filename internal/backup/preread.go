package backup

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/osfile"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// A live backup reads the node's live part files while the node takes its
// snapshot. The snapshot's part files are hard links to those same files
// (docs/banyandb.md, Snapshots): a snapshot file with the device, inode, size and modification
// time of a file read here has the content read here, and is not read
// again. Parts are immutable once their metadata.json is written, so only
// complete parts are read; a part that a merge deletes meanwhile is skipped,
// or was read for nothing (its blobs stay unreferenced until a prune).
//
// The node's snapshot call creates a directory tree, a part list per shard
// and copies of the index files, and hard-links every part file: seconds on
// a large root. This overlaps the backup's reading with it instead of
// following it, and goes on while the backup lists the snapshot, so that
// reading never pauses: the backup proper takes over from the preread
// (stop) only when it knows what the snapshot holds.
//
// The walk runs up to walkAhead files ahead of the reading. Its directory
// reads and stats are the ones the node's snapshot needs too (it lists and
// links the same parts), so the node finds them cached instead of waiting
// behind the backup's data reads. The workers run at normal priority: at
// the weakest one the node's snapshot took as long (it waits for the disk,
// not the CPU), less was read meanwhile, and on a saturated CPU the backup
// waited long for them.

// walkAhead is how many files the walk may list before they are read.
const walkAhead = 1 << 15

// errPrereadAborted ends a file's reading when the backup fails.
var errPrereadAborted = errors.New("preread aborted")

// PrereadStats counts a live backup's reading of the live parts, during the
// snapshot call and the listing of the snapshot.
type PrereadStats struct {
	// Files and Bytes were read in full before the backup proper took
	// over.
	Files, Bytes int64
	// FilesUsed and BytesUsed of them were in the snapshot, and not read
	// again.
	FilesUsed, BytesUsed int64
}

// fileID names an inode.
type fileID struct{ dev, ino uint64 }

// prereadFile is a live file read in full, as it was while read.
type prereadFile struct {
	size  int64
	mtime time.Time
	mode  fs.FileMode
	blobs []repository.ID
}

// prereadEntry is a live file a worker took: reading until the worker is
// done with it, then ok tells whether file holds what was read.
type prereadEntry struct {
	file    prereadFile
	reading bool
	ok      bool
}

// prereadJob is a live file to read.
type prereadJob struct {
	path string
	id   fileID
	file prereadFile
}

// preread reads live part files in the background until stopped.
type preread struct {
	stopping atomic.Bool
	aborting atomic.Bool
	stopCh   chan struct{}
	walked   chan struct{} // the walk has ended: it no longer reads the parent
	done     chan struct{} // and no worker saves any more

	mu     sync.Mutex
	cond   *sync.Cond // on mu: a worker is done with a file
	files  map[fileID]*prereadEntry
	counts PrereadStats
	err    error // a failure to save, which the backup would meet too
}

// startPreread starts reading the live part files of the catalogs and
// groups opts selects, under opts.Roots (the live data directories), in
// the order they lie on disk (oldest segments first). Files the parent
// backup has unchanged are not read. It saves through the session's saver.
func startPreread(ctx context.Context, s *session, opts Options) *preread {
	p := &preread{stopCh: make(chan struct{}), walked: make(chan struct{}), done: make(chan struct{}), files: map[fileID]*prereadEntry{}}
	p.cond = sync.NewCond(&p.mu)
	saver := s.newSaver(ctx)
	jobs := make(chan prereadJob, walkAhead)
	var wg sync.WaitGroup
	chunk := s.repo.Config().ChunkSize
	for range workers(opts) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunk)
			scratch := &repository.Scratch{}
			for j := range jobs {
				p.read(ctx, saver, j, buf, scratch, opts)
			}
		}()
	}
	go func() {
		defer close(p.done)
		defer wg.Wait()
		defer close(jobs)
		defer close(p.walked)
		_, prev, err := s.waitParent()
		if err != nil {
			return // the backup reports it
		}
		for _, c := range requestedCatalogs(opts.Catalogs) {
			if !p.walk(ctx, s.repo, c, opts.Roots.DataDir(c), opts.Groups, prev, opts.ForceRehash, jobs) {
				return
			}
		}
	}()
	return p
}

// stop ends the walk and the taking of files: the files the workers hold
// are read to their end (lookup waits for them), no other is. It waits
// for the walk, which shares the parent with the backup proper.
func (p *preread) stop() {
	if p == nil {
		return
	}
	if !p.stopping.Swap(true) {
		close(p.stopCh)
	}
	<-p.walked
}

// abort stops, and drops the files being read: for a failed backup.
func (p *preread) abort() {
	if p == nil {
		return
	}
	p.aborting.Store(true)
	p.stop()
}

// wait stops the reading and waits until no worker saves any more. The
// error is a failure to save a blob, which fails the backup.
func (p *preread) wait() error {
	if p == nil {
		return nil
	}
	p.stop()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// lookup returns the blobs of f if the same inode, unchanged, was read.
// Called after stop, it waits for a file a worker is still reading.
func (p *preread) lookup(f *banyandb.File) ([]repository.ID, bool) {
	if p == nil || f.Part == "" {
		return nil, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.files[fileID{f.Dev, f.Inode}]
	for e != nil && e.reading {
		p.cond.Wait()
	}
	if e == nil {
		return nil, false
	}
	r := e.file
	if !e.ok || r.size != f.Size || !r.mtime.Equal(f.ModTime) || r.mode != f.Mode {
		return nil, false
	}
	p.counts.FilesUsed++
	p.counts.BytesUsed += f.Size
	return r.blobs, true
}

// stats returns the counts so far (zero without a preread).
func (p *preread) stats() PrereadStats {
	if p == nil {
		return PrereadStats{}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts
}

// walk sends the files of the complete parts below one catalog's live data
// directory. It reports false once stopped. What vanishes under it (a
// merge deletes parts) is skipped.
func (p *preread) walk(ctx context.Context, repo *repository.Repository, c banyandb.Catalog, dataDir string, groups []string,
	prev *previous, force bool, jobs chan<- prereadJob) bool {
	partDir := "" // the complete part directory being walked
	dataDir, err := filepath.EvalSymlinks(dataDir)
	if err != nil {
		return true // no such catalog here
	}
	err = filepath.WalkDir(dataDir, func(path string, d fs.DirEntry, err error) error {
		if p.stopping.Load() || ctx.Err() != nil {
			return filepath.SkipAll
		}
		if err != nil || path == dataDir {
			return nil // vanished, or unreadable: the backup proper decides
		}
		name := d.Name()
		if d.IsDir() {
			switch {
			case banyandb.IsUnfinished(name):
				return filepath.SkipDir
			case filepath.Dir(path) == dataDir && len(groups) > 0 && c != banyandb.SchemaProperty && !slices.Contains(groups, name):
				return filepath.SkipDir
			case banyandb.IsPartName(name):
				if !banyandb.PartComplete(path) {
					return filepath.SkipDir // unfinished: the snapshot leaves it out
				}
				partDir = path
			}
			return nil
		}
		if filepath.Dir(path) != partDir || !d.Type().IsRegular() || banyandb.IsUnfinished(name) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		ino, dev, _ := banyandb.StatIDs(info)
		f := banyandb.File{Size: info.Size(), ModTime: info.ModTime(), Mode: info.Mode(), Inode: ino, Dev: dev, Owner: banyandb.StatOwner(info)}
		if !force {
			rel, err := filepath.Rel(dataDir, path)
			if err != nil {
				return nil
			}
			if n, err := prev.file(ctx, repo, nodePath(c, filepath.ToSlash(rel))); err == nil && unchanged(&f, n, repo) {
				return nil // the parent has it
			}
		}
		select {
		case jobs <- prereadJob{path: path, id: fileID{dev, ino}, file: prereadFile{size: f.Size, mtime: f.ModTime, mode: f.Mode}}:
			return nil
		case <-p.stopCh:
			return filepath.SkipAll
		}
	})
	return err == nil && !p.stopping.Load()
}

// read reads one live file and records its blobs if it did not change
// while read.
func (p *preread) read(ctx context.Context, saver *repository.Saver, j prereadJob, buf []byte, scratch *repository.Scratch, opts Options) {
	// Take the file, unless stopped or taken already (hard links).
	p.mu.Lock()
	if p.stopping.Load() || p.files[j.id] != nil {
		p.mu.Unlock()
		return
	}
	e := &prereadEntry{file: j.file, reading: true}
	p.files[j.id] = e
	p.mu.Unlock()

	blobs, total, ok, saveErr := p.readFile(ctx, saver, j, buf, scratch, opts)
	p.mu.Lock()
	defer p.mu.Unlock()
	e.reading = false
	p.cond.Broadcast()
	if saveErr != nil && p.err == nil {
		p.err = saveErr
	}
	if ok {
		e.file.blobs, e.ok = blobs, true
		p.counts.Files++
		p.counts.Bytes += total
	}
}

// readFile reads and saves one live file. ok means that it was read to its
// end and did not change meanwhile. saveErr is a failure to save a blob,
// which fails the backup; a file that cannot be read is the backup
// proper's to judge.
func (p *preread) readFile(ctx context.Context, saver *repository.Saver, j prereadJob, buf []byte, scratch *repository.Scratch,
	opts Options) (blobs []repository.ID, total int64, ok bool, saveErr error) {
	fh, err := osfile.Open(j.path)
	if err != nil {
		return nil, 0, false, nil
	}
	defer fh.Close()
	stop := func() error {
		if p.aborting.Load() {
			return errPrereadAborted
		}
		return ctx.Err()
	}
	r := &readErrors{r: opts.ReadLimit.Reader(ctx, fh)}
	blobs, total, err = saveChunks(ctx, saver, r, j.path, buf, scratch, stop)
	if err != nil {
		if r.err == nil && !errors.Is(err, errPrereadAborted) && ctx.Err() == nil {
			return nil, total, false, err
		}
		return nil, total, false, nil
	}
	after, err := fh.Stat()
	if err != nil {
		return nil, total, false, nil
	}
	if ino, dev, _ := banyandb.StatIDs(after); (fileID{dev, ino}) != j.id ||
		total != j.file.size || after.Size() != j.file.size || !after.ModTime().Equal(j.file.mtime) {
		return nil, total, false, nil // replaced or changed while read: the backup proper reads the snapshot's link
	}
	return blobs, total, true, nil
}

// readErrors remembers the error of its reader other than io.EOF.
type readErrors struct {
	r   io.Reader
	err error
}

func (e *readErrors) Read(b []byte) (int, error) {
	n, err := e.r.Read(b)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}
