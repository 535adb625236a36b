package backup_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// validFixture is a fresh 0.11 root and an empty repository.
func validFixture(t *testing.T) (string, *repository.Repository) {
	t.Helper()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo, err := repository.Init(context.Background(), local.New(filepath.Join(t.TempDir(), "repo")), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	return root, repo
}

// TestBackupRecordsOnlyValidModes: a backup never writes a tree that verify
// refuses. Setuid, setgid and sticky bits of files are not recorded, nor
// setuid of directories; a directory's setgid (which Linux passes on to
// new subdirectories) and sticky bits are, and verify accepts them.
func TestBackupRecordsOnlyValidModes(t *testing.T) {
	root, repo := validFixture(t)
	seg := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261119")
	file := filepath.Join(seg, "shard-0", "0000000000000001", "metadata.json")
	if err := os.Chmod(file, fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky|0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(seg, fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky|0o755); err != nil {
		t.Fatal(err)
	}
	res, err := backup.Run(context.Background(), repo, backup.Options{Roots: banyandb.Roots{Root: root}})
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]fs.FileMode{}
	err = repo.Walk(context.Background(), res.Manifest.Tree, func(p string, n *repository.Node) error {
		modes[p] = n.Mode
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := modes["measure/bk_measure/seg-20261119/shard-0/0000000000000001/metadata.json"]; m != 0o644 {
		t.Errorf("a setuid, setgid, sticky file is recorded with mode %v, want %v", m, fs.FileMode(0o644))
	}
	// Root runs CI, and chmod keeps setgid for root.
	if m, want := modes["measure/bk_measure/seg-20261119"], fs.ModeDir|fs.ModeSetgid|fs.ModeSticky|0o755; m != want {
		t.Errorf("a setuid, setgid, sticky directory is recorded with mode %v, want %v", m, want)
	}
	v, err := repo.Verify(context.Background(), repository.VerifyOptions{})
	if err != nil || len(v.Problems) > 0 {
		t.Fatalf("verify: %v %v", err, v.Problems)
	}
}

// TestBackupRefusesWhatNoReaderAccepts: a name with a backslash (a path
// separator on Windows) or a directory deeper than MaxTreeDepth fails the
// backup, naming it, and leaves no backup.
func TestBackupRefusesWhatNoReaderAccepts(t *testing.T) {
	deep := strings.Repeat("d/", repository.MaxTreeDepth)
	cases := []struct {
		name, path, want string
	}{
		{"backslash", `bk_measure/seg-20261119/shard-0/a\b`, `entry "a\\b": name holds a path separator`},
		{"too deep", "bk_measure/seg-20261119/shard-0/" + deep + "f", "levels deep, more than the 64 a backup may hold"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root, repo := validFixture(t)
			p := filepath.Join(root, "measure", "data", filepath.FromSlash(c.path))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := backup.Run(context.Background(), repo, backup.Options{Roots: banyandb.Roots{Root: root}})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("backup: %v, want an error saying %q", err, c.want)
			}
			if bs, err := repo.Backups(context.Background()); err != nil || len(bs) != 0 {
				t.Errorf("the refused backup left %d backups (%v)", len(bs), err)
			}
		})
	}
}
