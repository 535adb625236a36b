package backup

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/osfile"
)

// A backup's workers read files one at a time each, and most of a data
// root's files are small (a part's metadata and per-column files): on a
// cold cache each such read waits for the disk while the CPU, which the
// compression of larger files needs, idles. The prefetcher asks the kernel
// (osfile.WillNeed) to read the next files ahead of the workers, so that
// many small reads are in flight at once and the workers find the files
// cached (docs/benchmarks.md, "Files read ahead").
//
// It stays within prefetchFiles files and prefetchBytes bytes of the file
// the workers took last, so that what it brings in is read before the
// kernel needs the memory back. A file larger than the window is left to
// the kernel's own read-ahead as it is read.

const (
	prefetchFiles = 256
	prefetchBytes = 64 << 20
)

// startPrefetch starts reading ahead of the workers the files todo lists
// (indexes into layout.Files). The workers call took(k) as they take
// todo[k]; stop ends the reading ahead and waits for it.
func startPrefetch(ctx context.Context, opts Options, layout *banyandb.Layout, todo []int) (took func(int), stop func()) {
	p := planPrefetch(opts, layout, todo, osfile.WillNeed)
	if p == nil {
		return func(int) {}, func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p.run(ctx)
	}()
	return p.took, func() { cancel(); wg.Wait() }
}

// planPrefetch returns the prefetcher of the files todo lists, or nil
// when the backup's reads are rate limited: the kernel's reads would not
// be.
func planPrefetch(opts Options, layout *banyandb.Layout, todo []int, advise func(string) bool) *prefetcher {
	if opts.ReadLimit != nil || len(todo) == 0 {
		return nil
	}
	paths := make([]string, len(todo))
	sizes := make([]int64, len(todo))
	for k, i := range todo {
		f := &layout.Files[i]
		paths[k] = filepath.Join(opts.Roots.DataDir(f.Catalog), filepath.FromSlash(f.Path))
		sizes[k] = f.Size
	}
	return newPrefetcher(paths, sizes, advise)
}

// prefetcher runs ahead of the workers over the files they will read, in
// the order they take them.
type prefetcher struct {
	paths  []string
	ends   []int64 // ends[i]: the sizes of paths[:i+1], summed
	taken  atomic.Int64
	moved  chan struct{}
	advise func(path string) bool
}

// newPrefetcher returns a prefetcher of the files at paths, of the given
// sizes, to be read in that order; advise asks the kernel to read one.
func newPrefetcher(paths []string, sizes []int64, advise func(string) bool) *prefetcher {
	p := &prefetcher{paths: paths, ends: make([]int64, len(sizes)), moved: make(chan struct{}, 1), advise: advise}
	var sum int64
	for i, n := range sizes {
		sum += n
		p.ends[i] = sum
	}
	p.taken.Store(-1)
	return p
}

// took tells the prefetcher that a worker took file i.
func (p *prefetcher) took(i int) {
	for {
		cur := p.taken.Load()
		if int64(i) <= cur {
			return
		}
		if p.taken.CompareAndSwap(cur, int64(i)) {
			break
		}
	}
	select {
	case p.moved <- struct{}{}:
	default:
	}
}

// run advises the files in order, each once it is within the window and
// not yet taken by a worker, until the last one or until ctx ends.
func (p *prefetcher) run(ctx context.Context) {
	for i, path := range p.paths {
		if !p.wait(ctx, i) {
			return
		}
		if int64(i) > p.taken.Load() && p.size(i) <= prefetchBytes {
			p.advise(path)
		}
	}
}

// wait waits until file i is within the window ahead of the workers, or
// taken by one; it reports false if ctx ended first.
func (p *prefetcher) wait(ctx context.Context, i int) bool {
	for !p.within(i) {
		select {
		case <-p.moved:
		case <-ctx.Done():
			return false
		}
	}
	return ctx.Err() == nil
}

// within reports whether file i is taken or in the window ahead of the
// workers: the next file always is, a later one if it is within
// prefetchFiles files and prefetchBytes bytes of the last one taken.
func (p *prefetcher) within(i int) bool {
	t := int(p.taken.Load())
	if i <= t+1 {
		return true
	}
	if i-t > prefetchFiles {
		return false
	}
	var before int64
	if t >= 0 {
		before = p.ends[t]
	}
	return p.ends[i]-before <= prefetchBytes
}

func (p *prefetcher) size(i int) int64 {
	if i == 0 {
		return p.ends[0]
	}
	return p.ends[i] - p.ends[i-1]
}
