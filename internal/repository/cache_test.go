package repository

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage/faults"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

func TestCacheServesManifestsAndIndexFiles(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	var blobs [][]byte
	for i := range uint64(12) { // chunks of several packs
		blobs = append(blobs, randBlob(i, smallPacks.ChunkSize))
	}
	saveAll(t, r, blobs...)
	var ids []ID
	for i := range 3 {
		id, _, err := r.SaveManifest(ctx, &Manifest{Format: ManifestFormat, Time: time.Unix(int64(i), 0).UTC(), Tags: []string{"n"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	cache := t.TempDir()
	// open counts the Gets through the repository it opens.
	open := func() (*Repository, *faults.Backend) {
		c := faults.New(be)
		r, err := Open(ctx, c, Options{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r, c
	}

	// First open: everything fetched, and cached.
	r1, c1 := open()
	if b, err := r1.Backups(ctx); err != nil || len(b) != 3 {
		t.Fatalf("Backups: %d, %v", len(b), err)
	}
	if c1.Calls(faults.OpGet, "manifests/") != 3 {
		t.Errorf("first listing fetched %d manifests, want 3", c1.Calls(faults.OpGet, "manifests/"))
	}
	// Second open: none fetched again, index files neither.
	r2, c2 := open()
	if b, err := r2.Backups(ctx); err != nil || len(b) != 3 {
		t.Fatalf("Backups: %d, %v", len(b), err)
	}
	if c2.Calls(faults.OpGet, "manifests/") != 0 {
		t.Errorf("second listing fetched %d manifests, want 0 (cached)", c2.Calls(faults.OpGet, "manifests/"))
	}
	_, ci := open()
	if ci.Calls(faults.OpGet, "index/") != 0 {
		t.Errorf("second open fetched %d index files, want 0 (cached)", ci.Calls(faults.OpGet, "index/"))
	}

	// A damaged cached copy is not used.
	bad := filepath.Join(cache, r.Config().ID, "manifests", ids[0].String())
	if err := os.WriteFile(bad, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	r3, c3 := open()
	if m, err := r3.LoadManifest(ctx, ids[0]); err != nil || m.Tags[0] != "n" {
		t.Fatalf("LoadManifest over a damaged cache entry: %v", err)
	}
	if c3.Calls(faults.OpGet, "manifests/") != 1 {
		t.Errorf("damaged cache entry: %d fetches, want 1", c3.Calls(faults.OpGet, "manifests/"))
	}

	// A manifest gone from the repository leaves the cache at the next listing.
	if err := be.Delete(ctx, "manifests/"+ids[1].String()); err != nil {
		t.Fatal(err)
	}
	if _, err := r3.Backups(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cache, r.Config().ID, "manifests", ids[1].String())); !os.IsNotExist(err) {
		t.Errorf("the cache kept a manifest the repository no longer has: %v", err)
	}
}
