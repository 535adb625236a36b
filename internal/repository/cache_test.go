package repository

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// getCounter counts the Gets of objects under a prefix.
type getCounter struct {
	be     storage.Backend
	prefix string
	n      atomic.Int64
}

func (g *getCounter) Get(ctx context.Context, name string, off, n int64) (io.ReadCloser, error) {
	if strings.HasPrefix(name, g.prefix) {
		g.n.Add(1)
	}
	return g.be.Get(ctx, name, off, n)
}

func (g *getCounter) Location() string { return g.be.Location() }
func (g *getCounter) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	return g.be.Put(ctx, name, size, r)
}
func (g *getCounter) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	return g.be.Create(ctx, name, size, r)
}
func (g *getCounter) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	return g.be.Stat(ctx, name)
}
func (g *getCounter) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	return g.be.List(ctx, prefix, fn)
}
func (g *getCounter) Delete(ctx context.Context, name string) error { return g.be.Delete(ctx, name) }
func (g *getCounter) StageFile() (*os.File, error)                  { return g.be.StageFile() }
func (g *getCounter) PutStaged(ctx context.Context, name string, f *os.File) error {
	return g.be.PutStaged(ctx, name, f)
}
func (g *getCounter) Close() error { return g.be.Close() }

func TestCacheServesManifestsAndIndexFiles(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	saveAll(t, r, randBlob(1, 100<<10), randBlob(2, 100<<10))
	var ids []ID
	for i := range 3 {
		id, _, err := r.SaveManifest(ctx, &Manifest{Format: ManifestFormat, Time: time.Unix(int64(i), 0).UTC(), Tags: []string{"n"}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	cache := t.TempDir()
	open := func(prefix string) (*Repository, *getCounter) {
		c := &getCounter{be: be, prefix: prefix}
		r, err := Open(ctx, c, Options{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(r.Close)
		return r, c
	}

	// First open: everything fetched, and cached.
	r1, c1 := open("manifests/")
	if b, err := r1.Backups(ctx); err != nil || len(b) != 3 {
		t.Fatalf("Backups: %d, %v", len(b), err)
	}
	if c1.n.Load() != 3 {
		t.Errorf("first listing fetched %d manifests, want 3", c1.n.Load())
	}
	// Second open: none fetched again, index files neither.
	r2, c2 := open("manifests/")
	if b, err := r2.Backups(ctx); err != nil || len(b) != 3 {
		t.Fatalf("Backups: %d, %v", len(b), err)
	}
	if c2.n.Load() != 0 {
		t.Errorf("second listing fetched %d manifests, want 0 (cached)", c2.n.Load())
	}
	_, ci := open("index/")
	if ci.n.Load() != 0 {
		t.Errorf("second open fetched %d index files, want 0 (cached)", ci.n.Load())
	}

	// A damaged cached copy is not used.
	bad := filepath.Join(cache, r.Config().ID, "manifests", ids[0].String())
	if err := os.WriteFile(bad, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	r3, c3 := open("manifests/")
	if m, err := r3.LoadManifest(ctx, ids[0]); err != nil || m.Tags[0] != "n" {
		t.Fatalf("LoadManifest over a damaged cache entry: %v", err)
	}
	if c3.n.Load() != 1 {
		t.Errorf("damaged cache entry: %d fetches, want 1", c3.n.Load())
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
