package repository_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// fakeClock is a settable repository clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// pruneRoot is a BanyanDB data root (the 0.11 fixture) whose data changes
// between backups like a node's: every run adds parts, older ones go away
// (as merges remove them).
type pruneRoot struct {
	root  string
	shard string
	seed  uint64
}

func newPruneRoot(t *testing.T) *pruneRoot {
	t.Helper()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	shard := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261122", "shard-0")
	if _, err := os.Stat(shard); err != nil {
		t.Fatal(err)
	}
	return &pruneRoot{root: root, shard: shard}
}

func (p *pruneRoot) partDir(n int) string {
	return filepath.Join(p.shard, fmt.Sprintf("%016x", 0x100000+n))
}

// addPart writes part n with files of pseudo-random bytes (each run's
// content is new).
func (p *pruneRoot) addPart(t *testing.T, n, files, size int) {
	t.Helper()
	dir := p.partDir(n)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := range files {
		p.seed++
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.bin", i)), randBytes(p.seed, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (p *pruneRoot) removePart(t *testing.T, n int) {
	t.Helper()
	if err := os.RemoveAll(p.partDir(n)); err != nil {
		t.Fatal(err)
	}
}

func randBytes(seed uint64, n int) []byte {
	var key [32]byte
	for i := range 8 {
		key[i] = byte(seed >> (8 * i))
	}
	b := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(b)
	return b
}

// backup takes one backup of the root.
func (p *pruneRoot) backup(t *testing.T, repo *repository.Repository, opts backup.Options) *backup.Result {
	t.Helper()
	opts.Roots = banyandb.Roots{Root: p.root}
	opts.Workers = 1
	res, err := backup.Run(t.Context(), repo, opts)
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	return res
}

// dirBytes sums the sizes of the files under dir.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// verifyAll reopens the repository and checks every backup with
// --read-data; it returns the number of backups.
func verifyAll(t *testing.T, dir string) int {
	t.Helper()
	repo, err := repository.Open(context.Background(), local.New(dir), repository.Options{})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer repo.Close()
	res, err := repo.Verify(context.Background(), repository.VerifyOptions{ReadData: true})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, p := range res.Problems {
		t.Errorf("verify: %s", p)
	}
	return res.Backups
}

// copyDir copies a repository directory.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
