package repository

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// slowStreams models the reads of an object store across a network: every
// Get waits latency for its first byte, and each stream then runs at rate
// bytes per second, however many run at once.
type slowStreams struct {
	storage.Backend
	latency time.Duration
	rate    float64
}

func (s slowStreams) Get(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	time.Sleep(s.latency)
	rc, err := s.Backend.Get(ctx, name, off, n)
	if err != nil {
		return nil, err
	}
	return &slowReader{rc: rc, rate: s.rate, start: time.Now()}, nil
}

type slowReader struct {
	rc    io.ReadCloser
	rate  float64
	start time.Time
	n     int64
}

func (r *slowReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p[:min(len(p), 256<<10)])
	r.n += int64(n)
	if due := time.Duration(float64(r.n) / r.rate * float64(time.Second)); due > time.Since(r.start) {
		time.Sleep(due - time.Since(r.start))
	}
	return n, err
}

func (r *slowReader) Close() error { return r.rc.Close() }

// BenchmarkPackScanSlowStreams scans 8 MiB packs over streams of 50 MB/s
// with 20 ms to the first byte (a model of an object store across a
// network, not a measurement of one): one Get per pack against ranged
// reads (object stores get 2 MiB x4: engine.ObjectStoreReadChunk and
// ObjectStoreReadParallel).
func BenchmarkPackScanSlowStreams(b *testing.B) {
	be := mem.New("b")
	r := newTestRepo(b, be, InitOptions{PackSize: 8 << 20, ChunkSize: 1 << 20})
	var blobs [][]byte
	for i := range 32 {
		blobs = append(blobs, randBlob(uint64(i), 1<<20))
	}
	ids, _ := saveAll(b, r, blobs...)
	slow := slowStreams{Backend: be, latency: 20 * time.Millisecond, rate: 50e6}
	for _, m := range []struct {
		name  string
		reads PackReads
	}{{"one Get per pack", PackReads{}}, {"ranged 4 MiB x3", PackReads{Chunk: 4 << 20, Parallel: 3}}, {"ranged 2 MiB x4", PackReads{Chunk: 2 << 20, Parallel: 4}}} {
		b.Run(m.name, func(b *testing.B) {
			rr, err := Open(b.Context(), slow, Options{PackReads: m.reads})
			if err != nil {
				b.Fatal(err)
			}
			defer rr.Close()
			byPack := map[ID][]Location{}
			var bytes int64
			for _, id := range ids {
				loc, _ := rr.Index().Lookup(id)
				byPack[loc.Pack] = append(byPack[loc.Pack], loc)
				bytes += int64(loc.Length)
			}
			s := rr.NewPackScanner()
			b.SetBytes(bytes)
			for b.Loop() {
				for pack, locs := range byPack {
					sortByOffset(locs)
					if err := s.Scan(b.Context(), pack, locs, func(Location, []byte) error { return nil }); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func sortByOffset(locs []Location) {
	for i := 1; i < len(locs); i++ {
		for j := i; j > 0 && locs[j].Offset < locs[j-1].Offset; j-- {
			locs[j], locs[j-1] = locs[j-1], locs[j]
		}
	}
}
