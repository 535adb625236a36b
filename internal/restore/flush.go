package restore

import (
	"sync"
	"sync/atomic"
)

// writebackMin is the smallest write whose writeback starts at once. The
// kernel starts none for minutes while the dirty pages fit its limits, so
// without this the restore's final syncfs wrote every byte while the disk
// had idled during the reads; started for each small file too, the many
// small writes cost more than they overlapped (docs/benchmarks.md, "Writes
// sent to disk as they are made").
const writebackMin = 256 << 10

// flushEvery is how many bytes of small writes (below writebackMin, whose
// writeback nothing starts) a restore lets accumulate before it asks for
// them to be written to disk, in the background.
const flushEvery = 32 << 20

// flusher writes the small files a restore has staged to disk while it
// goes on: once flushEvery bytes of them are waiting, a goroutine syncs the
// staging directories' filesystems. The final sync before the move then
// has only the last of them to wait for, where it used to write every
// small file after the last pack (docs/benchmarks.md, "Small files sent to
// disk while the restore goes on"). A failed early sync is only early: the
// final sync still reports every error.
type flusher struct {
	dirs    []string
	waiting atomic.Int64
	syncs   atomic.Int64 // early syncs made
	kick    chan struct{}
	done    sync.WaitGroup
}

// startFlusher starts flushing the filesystems of dirs. stop ends it.
func startFlusher(dirs []string) *flusher {
	f := &flusher{dirs: dirs, kick: make(chan struct{}, 1)}
	if !earlySyncs {
		return f
	}
	f.done.Add(1)
	go f.run()
	return f
}

// wrote notes n bytes written with no writeback started.
func (f *flusher) wrote(n int) {
	if f.waiting.Add(int64(n)) < flushEvery {
		return
	}
	f.waiting.Store(0)
	select {
	case f.kick <- struct{}{}:
	default: // a sync is asked for already
	}
}

func (f *flusher) run() {
	defer f.done.Done()
	for range f.kick {
		for _, d := range f.dirs {
			_ = syncFS(d)
		}
		f.syncs.Add(1)
	}
}

// stop ends the flushing and waits for a sync under way.
func (f *flusher) stop() {
	close(f.kick)
	f.done.Wait()
}
