package backup

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
)

// adviceLog records the paths a prefetcher advised, in order.
type adviceLog struct {
	mu    sync.Mutex
	paths []string
	seen  chan struct{}
}

func newAdviceLog() *adviceLog { return &adviceLog{seen: make(chan struct{}, 1<<16)} }

func (a *adviceLog) advise(path string) bool {
	a.mu.Lock()
	a.paths = append(a.paths, path)
	a.mu.Unlock()
	a.seen <- struct{}{}
	return true
}

func (a *adviceLog) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.paths)
}

// waitFor waits until the prefetcher has advised n files, then a while
// longer, and fails if it advised more.
func (a *adviceLog) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(a.got()) < n {
		select {
		case <-a.seen:
		case <-deadline:
			t.Fatalf("advised %d files, want %d", len(a.got()), n)
		}
	}
	time.Sleep(50 * time.Millisecond) // room to go further than it may
	return a.got()
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("f%05d", i)
	}
	return out
}

func startTest(t *testing.T, p *prefetcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the prefetcher did not stop when its context ended")
		}
	})
}

// Small files are advised in the order the workers take them, never more
// than prefetchFiles ahead of the last one taken; each is advised once, and
// the ones a worker took first are not advised at all.
func TestPrefetchStaysWithinItsFileWindow(t *testing.T) {
	const n = 3 * prefetchFiles
	paths := names(n)
	sizes := make([]int64, n)
	for i := range sizes {
		sizes[i] = 4096
	}
	log := newAdviceLog()
	p := newPrefetcher(paths, sizes, log.advise)
	p.took(0) // a worker took the first file before the prefetcher ran
	startTest(t, p)

	if got := log.waitFor(t, prefetchFiles); !slices.Equal(got, paths[1:prefetchFiles+1]) {
		t.Fatalf("advised %d files (%v … ), want files 1 to %d", len(got), got[:2], prefetchFiles)
	}
	p.took(100)
	if got := log.waitFor(t, prefetchFiles+100); !slices.Equal(got, paths[1:prefetchFiles+101]) {
		t.Fatalf("after file 100 was taken: advised %d files, want files 1 to %d", len(got), prefetchFiles+100)
	}
	// The workers overtake the prefetcher: the files they took are skipped.
	p.took(2 * prefetchFiles)
	want := append(slices.Clone(paths[1:prefetchFiles+101]), paths[2*prefetchFiles+1:]...)
	if got := log.waitFor(t, len(want)); !slices.Equal(got, want) {
		t.Fatalf("advised %d files, want %d: files 1 to %d, then those after file %d", len(got), len(want), prefetchFiles+100, 2*prefetchFiles)
	}
}

// The window is bounded in bytes too: files are advised only while the
// bytes from the last file taken through them fit prefetchBytes, the next
// file always; a file larger than the window is left to the kernel's own
// read-ahead.
func TestPrefetchStaysWithinItsByteWindow(t *testing.T) {
	paths := names(6)
	const mib = 1 << 20
	sizes := []int64{mib, prefetchBytes / 2, prefetchBytes/2 - mib, mib, 2 * prefetchBytes, mib}
	log := newAdviceLog()
	p := newPrefetcher(paths, sizes, log.advise)
	startTest(t, p)

	// Nothing taken yet: files 0-2 fill the window exactly; file 3 does not fit.
	if got := log.waitFor(t, 3); !slices.Equal(got, paths[:3]) {
		t.Fatalf("advised %v, want %v", got, paths[:3])
	}
	p.took(1) // files 2-3 fit; file 4 does not
	if got := log.waitFor(t, 4); !slices.Equal(got, paths[:4]) {
		t.Fatalf("advised %v, want %v", got, paths[:4])
	}
	p.took(4) // file 4 taken by a worker, file 5 fits
	if got := log.waitFor(t, 5); !slices.Equal(got, []string{paths[0], paths[1], paths[2], paths[3], paths[5]}) {
		t.Fatalf("advised %v, want every file but the one larger than the window", got)
	}
}

// A backup whose reads are rate limited reads nothing ahead: the kernel's
// reads would not be limited. Otherwise the prefetcher lists the files to
// read in the workers' order, under their catalogs' data directories.
func TestPrefetchPlan(t *testing.T) {
	layout := &banyandb.Layout{Files: []banyandb.File{
		{Catalog: banyandb.Measure, Path: "g/seg-20261120/shard-0/0000000000000001/meta.bin", Size: 10},
		{Catalog: banyandb.Stream, Path: "g/seg-20261120/shard-0/idx/000000000001.seg", Size: 20},
		{Catalog: banyandb.Measure, Path: "g/seg-20261120/shard-0/0000000000000001/primary.bin", Size: 30},
	}}
	root := t.TempDir()
	opts := Options{Roots: banyandb.Roots{Root: root}}
	todo := []int{2, 1}
	p := planPrefetch(opts, layout, todo, func(string) bool { return true })
	if p == nil {
		t.Fatal("no prefetcher for an unlimited backup")
	}
	want := []string{
		filepath.Join(opts.Roots.DataDir(banyandb.Measure), "g/seg-20261120/shard-0/0000000000000001/primary.bin"),
		filepath.Join(opts.Roots.DataDir(banyandb.Stream), "g/seg-20261120/shard-0/idx/000000000001.seg"),
	}
	if !slices.Equal(p.paths, want) || !slices.Equal(p.ends, []int64{30, 50}) {
		t.Errorf("paths %v ends %v, want %v and [30 50]", p.paths, p.ends, want)
	}
	opts.ReadLimit = ratelimit.New(1 << 20)
	if planPrefetch(opts, layout, todo, func(string) bool { return true }) != nil {
		t.Error("a rate-limited backup reads ahead")
	}
}
