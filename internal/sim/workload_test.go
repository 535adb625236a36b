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
// lists every part directory present and, in a snapshot, at most maxMem
// more per shard: the parts held in memory, which it cannot link (a shard
// whose only rows are in memory has neither .snp nor part in the data
// directory); every part is complete (its metadata.json parses, its
// timestamps lie in the segment's window and, for parts the simulator
// wrote, its size is the sum of its files); every trace index part has its
// manifest.json; every Bluge index has at most one .snp. It returns the
// number of listed parts absent.
func checkTree(t *testing.T, c banyandb.Catalog, dir string, maxMem int) int {
	t.Helper()
	absent := 0
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
				absent += checkShard(t, c, filepath.Join(segDir, sh), start, end, seg >= firstNewSegment, maxMem)
			}
		}
	}
	return absent
}

// checkShard checks one shard for checkTree and returns the number of
// parts its .snp lists but it lacks.
func checkShard(t *testing.T, c banyandb.Catalog, dir string, start, end time.Time, written bool, maxMem int) int {
	t.Helper()
	snps := snpFilesIn(t, dir)
	present := partDirsIn(t, dir)
	if len(snps) == 0 && len(present) == 0 {
		return 0 // its rows are in memory
	}
	if len(snps) != 1 {
		t.Errorf("%s: part lists %v, want exactly one", dir, snps)
		return 0
	}
	listed := readSnpFile(t, filepath.Join(dir, snps[0]))
	var absent []string
	for _, p := range listed {
		if !slices.Contains(present, p) {
			absent = append(absent, p)
		}
	}
	for _, p := range present {
		if !slices.Contains(listed, p) {
			t.Errorf("%s: part %s not listed in %v", dir, p, listed)
		}
	}
	if len(absent) > maxMem {
		t.Errorf("%s: parts %v, listed %v: %d absent, want at most %d", dir, present, listed, len(absent), maxMem)
	}
	listed = present
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
	return len(absent)
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
		checkTree(t, c, roots.DataDir(c), 0)
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
	inMemory := 0
	for _, name := range names {
		for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
			dir := filepath.Join(roots.SnapshotsDir(c), name)
			// One part per written shard is in memory between steps.
			inMemory += checkTree(t, c, dir, 1)
			if l := scanAs(t, c, dir); len(l.Warnings) > 0 {
				t.Errorf("%s snapshot %s: %v", c, name, l.Warnings)
			}
		}
		checkNoServerFiles(t, filepath.Join(roots.SnapshotsDir(banyandb.Measure), name))
	}
	// 2 measure shards, a stream and a trace shard are written: each
	// snapshot lists their parts in memory, but for shards cut in a segment
	// the clock has just left, listed before the next one was made.
	if inMemory < 2*len(names) {
		t.Errorf("%d snapshots list %d parts in memory, want about 4 each (one per written shard)", len(names), inMemory)
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

// TestPartsInMemory: a step leaves the rows it wrote in memory, one part
// per written shard: the live .snp does not list it and it has no
// directory, but a snapshot's .snp lists it, unlinked (docs/banyandb.md,
// Snapshots); the next step flushes it. Flush leaves nothing in memory.
func TestPartsInMemory(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	ctx := context.Background()
	roots := banyandb.Roots{Root: s.Root()}
	shards := []string{"measure/data/bk_measure/seg-20261123/shard-0", "measure/data/bk_measure/seg-20261123/shard-1",
		"stream/data/bk_stream/seg-20261123/shard-0", "trace/data/bk_trace/seg-20261123/shard-0"}
	snapshot := func() string {
		t.Helper()
		resp, err := s.Snapshot(ctx, &databasev1.SnapshotRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return wantAll(t, resp)
	}
	// inSnapshot returns a live shard's directory in snapshot name.
	inSnapshot := func(shard, name string) string {
		c, rest, _ := strings.Cut(shard, "/data/")
		return filepath.Join(roots.SnapshotsDir(banyandb.Catalog(c)), name, rest)
	}

	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.PartsInMemory != 4 || st.PartsWritten != 0 || st.Flushes != 1 {
		t.Fatalf("after a step: %+v, want 4 parts in memory, none written", st)
	}
	name := snapshot()
	first := map[string]string{}
	for _, sh := range shards {
		live := filepath.Join(s.Root(), sh)
		if got := snpFilesIn(t, live); len(got) != 0 || len(partDirsIn(t, live)) != 0 {
			t.Errorf("%s: .snp %v and parts %v before the first flush, want none", sh, got, partDirsIn(t, live))
		}
		snap := inSnapshot(sh, name)
		snps := snpFilesIn(t, snap)
		if len(snps) != 1 {
			t.Fatalf("%s: part lists %v, want one", snap, snps)
		}
		listed := readSnpFile(t, filepath.Join(snap, snps[0]))
		if len(listed) != 1 || len(partDirsIn(t, snap)) != 0 {
			t.Fatalf("%s: lists %v, holds %v: want one part in memory, unlinked", snap, listed, partDirsIn(t, snap))
		}
		first[sh] = listed[0]
	}

	if err := s.Step(ctx); err != nil {
		t.Fatal(err)
	}
	name = snapshot()
	for _, sh := range shards {
		live := filepath.Join(s.Root(), sh)
		liveSnp, liveEpoch, liveParts, err := newestSnp(live)
		if err != nil || liveSnp == "" || !slices.Equal(liveParts, []string{first[sh]}) || !slices.Equal(partDirsIn(t, live), liveParts) {
			t.Errorf("%s: live .snp %s lists %v (%v), holds %v: want the flushed %s", sh, liveSnp, liveParts, err, partDirsIn(t, live), first[sh])
		}
		snap := inSnapshot(sh, name)
		snpName, epoch, listed, err := newestSnp(snap)
		if err != nil || len(snpFilesIn(t, snap)) != 1 {
			t.Fatalf("%s: %v, part lists %v", snap, err, snpFilesIn(t, snap))
		}
		if len(listed) != 2 || listed[0] != first[sh] || isDir(filepath.Join(live, listed[1])) || epoch <= liveEpoch {
			t.Errorf("%s: %s lists %v, want %s (flushed) and the part in memory, at an epoch above the live %s", snap, snpName, listed, first[sh], liveSnp)
		}
		if got := partDirsIn(t, snap); !slices.Equal(got, []string{first[sh]}) {
			t.Errorf("%s: holds %v, want only the flushed %s", snap, got, first[sh])
		}
		checkLinks(t, filepath.Join(live, first[sh]), filepath.Join(snap, first[sh]))
	}

	// Flush: nothing stays in memory, and a snapshot is the data (the
	// older snapshots are removed, so that links count 2).
	for _, c := range banyandb.AllCatalogs() {
		if err := os.RemoveAll(roots.SnapshotsDir(c)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.PartsInMemory != 0 || st.PartsWritten != 12 {
		t.Errorf("after a flush: %+v, want no part in memory, 12 written", st)
	}
	checkSnapshotMatchesData(t, s.Root(), snapshot())
}
