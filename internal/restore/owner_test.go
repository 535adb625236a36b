//go:build unix

package restore_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// TestRestoreOwners: a backup records each file's and directory's owner;
// a restore as root gives them back (Keep), gives all one owner (Map), or
// leaves them to the restoring user (zero Owners).
func TestRestoreOwners(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI runs as root: this test must run")
		}
		t.Skip("changing owners needs root")
	}
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	group := filepath.Join(root, "measure", "data", "bk_measure")
	err := filepath.WalkDir(group, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 1234, 5678)
	})
	if err != nil {
		t.Fatal(err)
	}
	repo, b := backupRoot(t, root)
	for _, c := range []struct {
		name   string
		owners restore.Owners
		want   func(rel string) (uint32, uint32)
	}{
		{"keep", restore.Owners{Keep: true}, func(rel string) (uint32, uint32) {
			if inGroup(rel) {
				return 1234, 5678
			}
			return 0, 0
		}},
		{"map", restore.Owners{Map: &banyandb.Owner{UID: 42, GID: 43}}, func(string) (uint32, uint32) { return 42, 43 }},
		{"none", restore.Owners{}, func(string) (uint32, uint32) { return 0, 0 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "target")
			if _, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC, Owners: c.owners}); err != nil {
				t.Fatal(err)
			}
			data := filepath.Join(target, "measure", "data")
			n := 0
			err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(data, p)
				if rel == "." {
					return nil
				}
				info, err := os.Lstat(p)
				if err != nil {
					return err
				}
				st := info.Sys().(*syscall.Stat_t)
				uid, gid := c.want(rel)
				if st.Uid != uid || st.Gid != gid {
					t.Errorf("%s: owner %d:%d, want %d:%d", rel, st.Uid, st.Gid, uid, gid)
				}
				n++
				return nil
			})
			if err != nil || n < 10 {
				t.Fatalf("walked %d entries: %v", n, err)
			}
		})
	}
}

func inGroup(rel string) bool {
	return rel == "bk_measure" || filepath.Dir(rel) != "." && inGroup(filepath.Dir(rel))
}
