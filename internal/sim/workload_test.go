package sim

import (
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// firstNewSegment is the first segment the fixture has no part in: parts
// from here on were written by the simulator.
const firstNewSegment = "seg-20261123"

// checkTree checks the invariants of a measure, stream or trace tree dir
// (a data directory or a snapshot): every shard has exactly one .snp, which
// lists exactly the part directories present; every part is complete (its
// metadata.json parses, its timestamps lie in the segment's window and, for
// parts the simulator wrote, its size is the sum of its files); every trace
// index part has its manifest.json; every Bluge index has at most one .snp.
func checkTree(t *testing.T, c banyandb.Catalog, dir string) {
	t.Helper()
	for _, g := range listNames(t, dir, fs.DirEntry.IsDir) {
		for _, seg := range listNames(t, filepath.Join(dir, g), func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), "seg-") }) {
			segDir := filepath.Join(dir, g, seg)
			b, err := os.ReadFile(filepath.Join(segDir, "metadata"))
			if err != nil {
				t.Fatal(err)
			}
			version, end, hasEnd, err := banyandb.ParseSegmentMetadata(b)
			start, _, perr := banyandb.ParseSegmentName(seg, time.UTC)
			if err != nil || perr != nil || version != "1.5.0" || !hasEnd || !end.Equal(start.AddDate(0, 0, 1)) {
				t.Errorf("%s: metadata %s: %v %v", segDir, b, err, perr)
			}
			checkBluge(t, filepath.Join(segDir, "sidx"))
			for _, sh := range listNames(t, segDir, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), "shard-") }) {
				checkShard(t, c, filepath.Join(segDir, sh), start, end, seg >= firstNewSegment)
			}
		}
	}
}

// checkShard checks one shard for checkTree.
func checkShard(t *testing.T, c banyandb.Catalog, dir string, start, end time.Time, written bool) {
	t.Helper()
	snps := snpFilesIn(t, dir)
	if len(snps) != 1 {
		t.Errorf("%s: part lists %v, want exactly one", dir, snps)
		return
	}
	listed := readSnpFile(t, filepath.Join(dir, snps[0]))
	if got := partDirsIn(t, dir); !slices.Equal(got, listed) {
		t.Errorf("%s: parts %v, listed %v", dir, got, listed)
	}
	for _, p := range listed {
		b, err := os.ReadFile(filepath.Join(dir, p, banyandb.PartMetadataFile))
		if err != nil {
			t.Errorf("part %s incomplete: %v", p, err)
			continue
		}
		m, err := banyandb.ParsePartMetadata(b)
		if err != nil {
			t.Errorf("%s/%s: %v", dir, p, err)
			continue
		}
		if m.MinTimestamp < start.UnixNano() || m.MaxTimestamp >= end.UnixNano() {
			t.Errorf("%s/%s: timestamps %d..%d outside the segment", dir, p, m.MinTimestamp, m.MaxTimestamp)
		}
		if written {
			var sum int64
			for _, f := range listNames(t, filepath.Join(dir, p), func(e fs.DirEntry) bool { return e.Name() != banyandb.PartMetadataFile }) {
				fi, err := os.Stat(filepath.Join(dir, p, f))
				if err != nil {
					t.Fatal(err)
				}
				sum += fi.Size()
			}
			if uint64(sum) != m.CompressedSizeBytes {
				t.Errorf("%s/%s: files hold %d bytes, metadata says %d", dir, p, sum, m.CompressedSizeBytes)
			}
		}
	}
	switch c {
	case banyandb.Stream:
		checkBluge(t, filepath.Join(dir, "idx"))
	case banyandb.Trace:
		for _, rule := range listNames(t, filepath.Join(dir, "sidx"), fs.DirEntry.IsDir) {
			parts := partDirsIn(t, filepath.Join(dir, "sidx", rule))
			for _, p := range parts {
				if !isRegular(filepath.Join(dir, "sidx", rule, p, banyandb.SidxManifestFile)) {
					t.Errorf("%s: index part %s/%s has no manifest", dir, rule, p)
				}
			}
			if written && !slices.Equal(parts, listed) {
				t.Errorf("%s: index %s parts %v, shard parts %v", dir, rule, parts, listed)
			}
		}
	}
}

// checkBluge wants at most one .snp and at most maxBlugeSegs .seg files.
func checkBluge(t *testing.T, dir string) {
	t.Helper()
	segs, snps, _, err := listBluge(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(snps) > 1 || len(segs) > maxBlugeSegs {
		t.Errorf("%s: %d .snp and %d .seg files", dir, len(snps), len(segs))
	}
}

// checkNoTmp wants no temporary file under dir.
func checkNoTmp(t *testing.T, dir string) {
	t.Helper()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(d.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", p)
		}
		return err
	})
}

func TestWorkloadInvariants(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *Config) {
		c.Workload.MergeEvery, c.Workload.BlugeEvery, c.Workload.SegmentEvery = 3, 2, 5
		c.Workload.ClockStep = time.Hour
	})
	ctx := context.Background()
	for range 12 {
		if err := s.Step(ctx); err != nil {
			t.Fatal(err)
		}
	}
	roots := banyandb.Roots{Root: s.Root()}
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		checkTree(t, c, roots.DataDir(c))
		for _, seg := range []string{"seg-20261123", "seg-20261124", "seg-20261125"} {
			if !isDir(filepath.Join(roots.DataDir(c), "bk_"+string(c), seg)) {
				t.Errorf("%s: no segment %s", c, seg)
			}
		}
	}
	checkNoTmp(t, s.Root())
	l, err := banyandb.Scan(ctx, roots, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Warnings) > 0 {
		t.Errorf("layout warnings: %v", l.Warnings)
	}
	st := s.Stats()
	if st.Flushes != 12 || st.Merges == 0 || st.PartsMerged < 2*st.Merges || st.SegmentsCreated != 6 ||
		st.BlugeFilesWritten == 0 || st.BytesWritten == 0 || st.Errors != 0 {
		t.Errorf("stats %+v", st)
	}
	if want := time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC); !s.Clock().Equal(want) {
		t.Errorf("clock %v, want %v", s.Clock(), want)
	}
	// Merges keep the part count small: 4 flushes went to the last segment.
	for _, sh := range []string{"shard-0", "shard-1"} {
		if n := len(partDirsIn(t, filepath.Join(roots.DataDir(banyandb.Measure), "bk_measure", "seg-20261124", sh))); n > 2 {
			t.Errorf("%s of seg-20261124 has %d parts after merges", sh, n)
		}
	}
}

func TestWriteGroups(t *testing.T) {
	t.Parallel()
	root := newTestRoot(t)
	cfg := testConfig(root)
	cfg.Workload.WriteGroups = []string{"nope"}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "cannot select write group") {
		t.Fatalf("unknown write group: %v", err)
	}
	if err := banyandb.CheckNotLocked(banyandb.Roots{Root: root}, nil); err != nil {
		t.Errorf("failed start kept locks: %v", err)
	}

	cfg.Workload.WriteGroups = []string{"measure/bk_measure"}
	s = startWith(t, cfg)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[string]bool{"measure/data/bk_measure": true, "stream/data/bk_stream": false, "trace/data/bk_trace": false} {
		if got := isDir(filepath.Join(root, c, "seg-20261123", "shard-0")); got != want {
			t.Errorf("%s written: %v, want %v", c, got, want)
		}
	}
}

func TestSnapshotsDuringWorkload(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *Config) {
		c.Workload.FlushInterval = 2 * time.Millisecond
		c.Workload.MergeEvery, c.Workload.BlugeEvery, c.Workload.SegmentEvery = 2, 3, 15
		c.Workload.ClockStep = 10 * time.Minute
	})
	client := grpcClient(t, s)
	var (
		mu    sync.Mutex
		names []string
		wg    sync.WaitGroup
	)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				// Let the workload change the data between snapshots.
				from, deadline := s.Stats().Flushes, time.Now().Add(10*time.Second)
				for s.Stats().Flushes < from+2 && time.Now().Before(deadline) {
					time.Sleep(time.Millisecond)
				}
				resp, err := client.Snapshot(context.Background(), &databasev1.SnapshotRequest{})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				names = append(names, resp.Snapshots[1].Name)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if st := s.Stats(); st.Flushes < 8 || st.Merges == 0 || st.Errors != 0 {
		t.Fatalf("the workload did not run along: %+v", st)
	}
	if len(names) != 8 {
		t.Fatalf("%d snapshots", len(names))
	}
	roots := banyandb.Roots{Root: s.Root()}
	for _, name := range names {
		for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
			dir := filepath.Join(roots.SnapshotsDir(c), name)
			checkTree(t, c, dir)
			if l := scanAs(t, c, dir); len(l.Warnings) > 0 {
				t.Errorf("%s snapshot %s: %v", c, name, l.Warnings)
			}
		}
		checkNoServerFiles(t, filepath.Join(roots.SnapshotsDir(banyandb.Measure), name))
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	if err := s.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := statsOf(t, s)
	if st.Flushes != 1 || st.PartsWritten != 4 || st.BytesWritten == 0 || st.WriteRate <= 0 {
		t.Errorf("stats %+v: want 1 flush writing 4 parts (2 measure shards, stream, trace)", st)
	}
	var raw map[string]any
	_, body := httpDo(t, s, "GET", "/sim/stats", "")
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"flushes", "merges", "parts_written", "bytes_written", "write_rate_bytes_per_second",
		"snapshots_taken", "snapshots_deleted"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("stats lack %s: %s", k, body)
		}
	}
}
