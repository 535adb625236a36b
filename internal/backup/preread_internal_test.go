package backup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// writeTestFile writes a file with a fixed modification time.
func writeTestFile(t *testing.T, path, content string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

// testSession begins a backup session on a new in-memory repository, ended
// when the test ends.
func testSession(ctx context.Context, t *testing.T) *session {
	t.Helper()
	repo, err := repository.Init(ctx, mem.New("t"), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	s, _, err := begin(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.end(ctx) })
	return s
}

// The preread reads only complete parts, and a file that changed after it
// was read (same inode, other bytes and time) is not taken from it.
func TestPrereadTakesOnlyUnchangedFilesOfCompleteParts(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	shard := filepath.Join(root, "measure", "data", "g", "seg-20261123", "shard-0")
	mtime := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	done := filepath.Join(shard, "0000000000000001")
	writeTestFile(t, filepath.Join(done, "primary.bin"), "primary bytes", mtime)
	writeTestFile(t, filepath.Join(done, "timestamps.bin"), "timestamp bytes", mtime)
	writeTestFile(t, filepath.Join(done, banyandb.PartMetadataFile), `{"totalCount":1}`, mtime)
	unfinished := filepath.Join(shard, "0000000000000002")
	writeTestFile(t, filepath.Join(unfinished, "primary.bin"), "being written", mtime)

	s := testSession(ctx, t)
	opts := Options{Roots: banyandb.Roots{Root: root}, Catalogs: []banyandb.Catalog{banyandb.Measure}}
	s.startParent(ctx, opts, sourceOf(opts, sourceHooks{}))
	p := startPreread(ctx, s, opts)
	<-p.done // the whole root is read
	if err := p.wait(); err != nil {
		t.Fatal(err)
	}
	if st := p.stats(); st.Files != 3 || st.Bytes != int64(len("primary bytes")+len("timestamp bytes")+len(`{"totalCount":1}`)) {
		t.Errorf("preread %+v, want the 3 files of the complete part", st)
	}

	// Rewritten in place with as many bytes: a new modification time.
	writeTestFile(t, filepath.Join(done, "timestamps.bin"), "TIMESTAMP BYTES", mtime.Add(time.Second))
	l, err := banyandb.Scan(ctx, opts.Roots, banyandb.ScanOptions{Catalogs: opts.Catalogs, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for i := range l.Files {
		f := &l.Files[i]
		blobs, ok := p.lookup(f)
		got[filepath.Base(filepath.Dir(f.Path))+"/"+filepath.Base(f.Path)] = ok
		if ok {
			raw, _ := os.ReadFile(filepath.Join(opts.Roots.DataDir(f.Catalog), f.Path))
			if len(blobs) != 1 || blobs[0] != repository.Hash(raw) {
				t.Errorf("%s: preread blobs %v do not hold its bytes", f.Path, blobs)
			}
		}
	}
	want := map[string]bool{
		"0000000000000001/primary.bin": true, "0000000000000001/metadata.json": true,
		"0000000000000001/timestamps.bin": false, // changed since read
		"0000000000000002/primary.bin":    false, // unfinished part: not read
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("lookup %s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// A file a worker holds when the backup proper takes over (stop) is read to
// its end, and lookup waits for it rather than have it read twice.
func TestPrereadLookupWaitsForTheFileInHand(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	part := filepath.Join(root, "measure", "data", "g", "seg-20261123", "shard-0", "0000000000000001")
	mtime := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	big := strings.Repeat("p", 96<<10)
	writeTestFile(t, filepath.Join(part, "primary.bin"), big, mtime)
	writeTestFile(t, filepath.Join(part, banyandb.PartMetadataFile), `{"totalCount":1}`, mtime)

	s := testSession(ctx, t)
	// 32 KiB/s: primary.bin takes about three seconds to read.
	opts := Options{Roots: banyandb.Roots{Root: root}, Catalogs: []banyandb.Catalog{banyandb.Measure},
		Workers: 1, ReadLimit: ratelimit.New(32 << 10)}
	s.startParent(ctx, opts, sourceOf(opts, sourceHooks{}))
	p := startPreread(ctx, s, opts)
	inHand := func() *prereadEntry {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, e := range p.files {
			if e.file.size == int64(len(big)) {
				return e
			}
		}
		return nil
	}
	var e *prereadEntry
	for e = inHand(); e == nil; e = inHand() {
		time.Sleep(5 * time.Millisecond)
	}
	p.stop()
	p.mu.Lock()
	reading := e.reading
	p.mu.Unlock()
	if !reading {
		t.Fatal("primary.bin was read before the preread stopped: the test proves nothing")
	}

	l, err := banyandb.Scan(ctx, opts.Roots, banyandb.ScanOptions{Catalogs: opts.Catalogs, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Files {
		f := &l.Files[i]
		if filepath.Base(f.Path) != "primary.bin" {
			continue
		}
		blobs, ok := p.lookup(f)
		if !ok || len(blobs) != 1 || blobs[0] != repository.Hash([]byte(big)) {
			t.Errorf("primary.bin: lookup = %v, %v; want the blob of its bytes, read to the end after stop", blobs, ok)
		}
	}
	if err := p.wait(); err != nil {
		t.Fatal(err)
	}
	if st := p.stats(); st.Files != 2 || st.Bytes != int64(len(big)+len(`{"totalCount":1}`)) {
		t.Errorf("preread %+v, want both files of the part read", st)
	}
}
