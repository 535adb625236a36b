package backup_test

import (
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// TestTreesAreTheSameWhateverTheWorkers: the directories' trees are stored
// a level at a time on several goroutines. A backup on one worker and on
// several store the same root tree, every file once, and each directory
// counts the files and bytes below it.
func TestTreesAreTheSameWhateverTheWorkers(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	var first repository.ID
	for _, workers := range []int{1, 4} {
		repo := newRepo(t)
		res, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		if workers == 1 {
			first = res.Manifest.Tree
		} else if res.Manifest.Tree != first {
			t.Errorf("root tree on %d workers is %s, on one %s", workers, res.Manifest.Tree.Short(), first.Short())
		}
		checkDirTotals(t, repo, res.Manifest)
		checkTreeMatchesRoot(t, repo, res.Manifest, banyandb.Roots{Root: root})
	}
}

// checkTreeMatchesRoot checks that every file and directory of a backup
// is in the root at its path, a file of its size and a directory of its
// modification time.
func checkTreeMatchesRoot(t *testing.T, repo *repository.Repository, m *repository.Manifest, roots banyandb.Roots) {
	t.Helper()
	err := repo.Walk(context.Background(), m.Tree, func(p string, n *repository.Node) error {
		cat, rel, _ := strings.Cut(p, "/")
		st, err := os.Lstat(filepath.Join(roots.DataDir(banyandb.Catalog(cat)), filepath.FromSlash(rel)))
		switch {
		case err != nil:
			t.Errorf("%s is in the backup, not in the root: %v", p, err)
		case n.Type == repository.NodeDir && !st.ModTime().Equal(n.ModTime):
			t.Errorf("directory %s was modified at %v, the backup says %v", p, st.ModTime(), n.ModTime)
		case n.Type != repository.NodeDir && st.Size() != n.Size:
			t.Errorf("%s is of %d bytes, the backup says %d", p, st.Size(), n.Size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkDirTotals walks a backup and checks that it holds every file the
// summary counts, once, and that each directory's Files and Size are those
// of the files below it.
func checkDirTotals(t *testing.T, repo *repository.Repository, m *repository.Manifest) {
	t.Helper()
	type total struct{ files, size int64 }
	dirs := map[string]*repository.Node{}
	below := map[string]*total{}
	files := map[string]bool{}
	err := repo.Walk(context.Background(), m.Tree, func(p string, n *repository.Node) error {
		if n.Type == repository.NodeDir {
			c := *n
			dirs[p] = &c
			return nil
		}
		if files[p] {
			t.Errorf("%s is in the backup twice", p)
		}
		files[p] = true
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if below[d] == nil {
				below[d] = &total{}
			}
			below[d].files++
			below[d].size += n.Size
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(files)) != m.Summary.Files || len(files) == 0 {
		t.Errorf("%d files in the backup's trees, its summary counts %d", len(files), m.Summary.Files)
	}
	for p, n := range dirs {
		want := below[p]
		if want == nil {
			want = &total{}
		}
		if n.Files != want.files || n.Size != want.size {
			t.Errorf("directory %s counts %d files and %d bytes, holds %d and %d", p, n.Files, n.Size, want.files, want.size)
		}
	}
}
