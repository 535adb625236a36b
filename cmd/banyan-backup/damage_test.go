package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// packOf finds a pack holding blobs of type typ and returns its path and
// blob list.
func packOf(t *testing.T, repo string, typ repository.BlobType) (string, []repository.PackedBlob) {
	t.Helper()
	var path string
	var blobs []repository.PackedBlob
	err := filepath.WalkDir(filepath.Join(repo, "data"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || path != "" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		bs, err := repository.ParsePack(data)
		if err != nil {
			return err
		}
		if len(bs) > 0 && bs[0].Type == typ {
			path, blobs = p, bs
		}
		return nil
	})
	if err != nil || path == "" {
		t.Fatalf("no %s pack in %s: %v", typ, repo, err)
	}
	return path, blobs
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[off] ^= 0x40
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// filesUsing lists the tree paths of the files that use blob id.
func filesUsing(t *testing.T, repoDir string, id repository.ID) []string {
	t.Helper()
	ctx := context.Background()
	repo, err := repository.Open(ctx, local.New(repoDir), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	backups, err := repo.Backups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range backups {
		_ = repo.Walk(ctx, b.Tree, func(p string, n *repository.Node) error {
			for _, x := range n.Blobs {
				if x == id {
					out = append(out, p)
				}
			}
			return nil
		})
	}
	return out
}

// A flipped byte is found by verify --read-data wherever it is. A restore
// refuses it (exit 3, nothing left behind) where it damages what the
// restore needs: a data blob it writes, a tree blob. Outside every blob (a
// data pack's header) the restore writes every file intact, each blob
// checked against its id, and succeeds.
func TestFlippedByteIsFoundAndRestoreRefuses(t *testing.T) {
	cases := []struct {
		name     string
		typ      repository.BlobType
		offset   func(b repository.PackedBlob) int64
		restores bool
	}{
		{"inside a data blob", repository.DataBlob, func(b repository.PackedBlob) int64 { return int64(b.Offset + b.Length/2) }, false},
		{"inside a tree blob", repository.TreeBlob, func(b repository.PackedBlob) int64 { return int64(b.Offset + b.Length/2) }, false},
		{"in a data pack header", repository.DataBlob, func(repository.PackedBlob) int64 { return 6 }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := fixtureRoot(t, fixture.V011)
			repo := filepath.Join(t.TempDir(), "repo")
			mustRun(t, "init", "--repo", repo)
			b := backupJSONOf(t, repo, root)
			pack, blobs := packOf(t, repo, c.typ)
			victim := blobs[len(blobs)/2]
			var users []string
			if c.typ == repository.DataBlob {
				users = filesUsing(t, repo, victim.ID)
				if len(users) == 0 {
					t.Fatalf("no file uses blob %s", victim.ID.Short())
				}
			}
			flipByte(t, pack, c.offset(victim))

			r := run(t, "verify", "--repo", repo, "--read-data")
			if r.code != 3 {
				t.Fatalf("verify --read-data: exit %d, want 3\n%s%s", r.code, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stdout, "backup "+b.ShortID) {
				t.Errorf("verify does not name backup %s:\n%s", b.ShortID, r.stdout)
			}
			if c.typ == repository.DataBlob && !strings.Contains(r.stdout, users[0]) {
				t.Errorf("verify does not name file %s:\n%s", users[0], r.stdout)
			}

			target := filepath.Join(t.TempDir(), "restored")
			r = run(t, "restore", "latest", "--repo", repo, "--target", target)
			if c.restores {
				if r.code != 0 {
					t.Fatalf("restore with every blob intact: exit %d, want 0: %s", r.code, r.stderr)
				}
				compareTrees(t, root, target)
				return
			}
			if r.code != 3 {
				t.Fatalf("restore from a damaged pack: exit %d, want 3: %s", r.code, r.stderr)
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Errorf("restore from a damaged pack created the target: %v", err)
			}
			ents, _ := os.ReadDir(filepath.Dir(target))
			if len(ents) != 0 {
				t.Errorf("restore from a damaged pack left %d entries beside the target", len(ents))
			}
		})
	}
}
