package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"sync/atomic"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/osfile"
	"github.com/banyan-backup/banyan-backup/internal/parallel"
	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// nodePath is a file's path in the backup's root tree.
func nodePath(c banyandb.Catalog, rel string) string { return string(c) + "/" + rel }

// unchanged reports whether the parent's node can stand for f unread.
func unchanged(f *banyandb.File, n *repository.Node, repo *repository.Repository) bool {
	if n == nil || n.Size != f.Size || !n.ModTime.Equal(f.ModTime) || n.Inode != f.Inode || n.Mode != repository.RecordedMode(f.Mode) {
		return false
	}
	for _, id := range n.Blobs {
		if !repo.Index().Has(id) {
			return false
		}
	}
	return true
}

// fileWork is what a backup does with the layout's files: a node for each,
// holding the blobs of those it reuses, and the files it must read.
type fileWork struct {
	nodes     []repository.Node
	sum       repository.Summary
	todo      []int // indexes in layout.Files
	todoBytes int64
}

// planFiles decides, for each layout file, whether the parent (or the
// preread of a live backup) gives its blobs or it must be read.
func planFiles(ctx context.Context, repo *repository.Repository, layout *banyandb.Layout, prev *previous, pre *preread,
	opts Options, hooks sourceHooks) (*fileWork, error) {
	w := &fileWork{nodes: make([]repository.Node, len(layout.Files))}
	for _, d := range layout.Dirs {
		if d.Reused {
			n := prev.parts[nodePath(d.Catalog, d.Path)]
			w.sum.Files += n.Files
			w.sum.Bytes += n.Size
			w.sum.FilesUnchanged += n.Files
		}
	}
	for i := range layout.Files {
		f := &layout.Files[i]
		w.sum.Files++
		w.sum.Bytes += f.Size
		w.nodes[i] = repository.Node{Name: filepath.Base(f.Path), Type: repository.NodeFile, Mode: repository.RecordedMode(f.Mode), Size: f.Size, ModTime: f.ModTime.UTC(), Inode: f.Inode, UID: f.Owner.UID, GID: f.Owner.GID}
		p, err := prev.file(ctx, repo, nodePath(f.Catalog, f.Path))
		if err != nil {
			return nil, err
		}
		origin := originOf(hooks.liveRoots, opts.Roots, f)
		w.nodes[i].Origin = origin
		if !opts.ForceRehash && (unchanged(f, p, repo) || sameCopy(f, origin, p, repo)) {
			w.nodes[i].Blobs = p.Blobs
			w.sum.FilesUnchanged++
			continue
		}
		if blobs, ok := pre.lookup(f); ok {
			// Read while the node took its snapshot: the same inode.
			w.nodes[i].Blobs = blobs
			w.sum.FilesRead++
			w.sum.BytesRead += f.Size
			continue
		}
		w.todo = append(w.todo, i)
		w.todoBytes += f.Size
	}
	w.sum.Dirs = int64(len(layout.Dirs))
	return w, nil
}

// storeFiles returns one node per layout file, reading only files the
// parent lacks or that changed, and storing their new blobs.
func storeFiles(ctx context.Context, repo *repository.Repository, saver *repository.Saver, layout *banyandb.Layout,
	prev *previous, pre *preread, opts Options, hooks sourceHooks, rep progress.Reporter) ([]repository.Node, repository.Summary, error) {
	w, err := planFiles(ctx, repo, layout, prev, pre, opts, hooks)
	if err != nil {
		return nil, repository.Summary{}, err
	}
	nodes, sum, todo, todoBytes := w.nodes, w.sum, w.todo, w.todoBytes
	rep.Start("backup", int64(len(todo)), todoBytes)
	defer rep.Done()

	var bytesRead atomic.Int64
	partDone := partCounter(layout, todo, hooks.partRead)
	chunk := repo.Config().ChunkSize
	src := source{limit: opts.ReadLimit, rep: rep}
	took, stopPrefetch := startPrefetch(ctx, opts, layout, todo)
	defer stopPrefetch()
	err = parallel.ForEach(ctx, workers(opts), parallel.Positions(len(todo)), func() func(context.Context, int) error {
		buf := make([]byte, chunk)
		scratch := &repository.Scratch{}
		return func(ctx context.Context, k int) error {
			took(k)
			i := todo[k]
			blobs, n, err := storeFile(ctx, saver, opts.Roots, &layout.Files[i], buf, scratch, src)
			bytesRead.Add(n)
			if err != nil {
				return err
			}
			nodes[i].Blobs = blobs
			rep.Advance(1, 0) // its bytes as they were read
			partDone(&layout.Files[i])
			return nil
		}
	})
	if err != nil {
		return nil, sum, err
	}
	sum.FilesRead += int64(len(todo))
	sum.BytesRead += bytesRead.Load()
	return nodes, sum, nil
}

// source is how source files are read: within the read limit, reporting
// every read's bytes as progress, so that it moves within large files too.
type source struct {
	limit *ratelimit.Limiter
	rep   progress.Reporter
}

func (s source) reader(ctx context.Context, r io.Reader) io.Reader {
	return progressReader{r: s.limit.Reader(ctx, r), rep: s.rep}
}

type progressReader struct {
	r   io.Reader
	rep progress.Reporter
}

func (p progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.rep.Advance(0, int64(n))
	}
	return n, err
}

// storeFile reads one file in chunks and saves each chunk as a blob.
func storeFile(ctx context.Context, saver *repository.Saver, roots banyandb.Roots, f *banyandb.File, buf []byte, scratch *repository.Scratch,
	src source) ([]repository.ID, int64, error) {
	path := filepath.Join(roots.DataDir(f.Catalog), filepath.FromSlash(f.Path))
	fh, err := osfile.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot read %s: %w", path, err)
	}
	defer fh.Close()
	blobs, total, err := saveChunks(ctx, saver, src.reader(ctx, fh), path, buf, scratch, ctx.Err)
	if err != nil {
		return nil, total, err
	}
	if total != f.Size {
		return nil, total, fmt.Errorf("cannot back up %s: it changed size while being read (%d bytes, then %d): is a server writing to this root?", path, f.Size, total)
	}
	return blobs, total, nil
}

// saveChunks reads r (the file at path) to its end in chunks of len(buf)
// and saves each chunk as a data blob. Before each chunk it asks stop
// whether to give up, and returns stop's error if so. Save is called with
// ctx, which must stay valid: a Save cancelled half-way loses its pack.
func saveChunks(ctx context.Context, saver *repository.Saver, r io.Reader, path string, buf []byte, scratch *repository.Scratch,
	stop func() error) ([]repository.ID, int64, error) {
	var (
		blobs []repository.ID
		total int64
	)
	for {
		if err := stop(); err != nil {
			return nil, total, err
		}
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			total += int64(n)
			data := buf[:n]
			id := repository.Hash(data)
			if _, err := saver.Save(ctx, repository.DataBlob, id, data, scratch); err != nil {
				return nil, total, err
			}
			blobs = append(blobs, id)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return blobs, total, nil
		}
		if err != nil {
			return nil, total, fmt.Errorf("cannot read %s: %w", path, err)
		}
	}
}

// partCounter returns the function to call after each stored file: it
// calls partRead once the last file read from a part directory is stored.
// A part directory none of whose files is read (each was unchanged, or
// read while the node took its snapshot) is reported at once. Without
// partRead it does nothing.
func partCounter(layout *banyandb.Layout, todo []int, partRead func(banyandb.Catalog, string)) func(*banyandb.File) {
	if partRead == nil {
		return func(*banyandb.File) {}
	}
	key := func(f *banyandb.File) string { return string(f.Catalog) + "/" + path.Dir(f.Path) }
	left := map[string]*atomic.Int32{}
	for _, i := range todo {
		f := &layout.Files[i]
		if f.Part == "" {
			continue
		}
		k := key(f)
		if left[k] == nil {
			left[k] = &atomic.Int32{}
		}
		left[k].Add(1)
	}
	unread := map[string]bool{}
	for i := range layout.Files {
		f := &layout.Files[i]
		if k := key(f); f.Part != "" && left[k] == nil && !unread[k] {
			unread[k] = true
			partRead(f.Catalog, path.Dir(f.Path))
		}
	}
	return func(f *banyandb.File) {
		if f.Part == "" {
			return
		}
		if left[key(f)].Add(-1) == 0 {
			partRead(f.Catalog, path.Dir(f.Path))
		}
	}
}
