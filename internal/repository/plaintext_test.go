package repository_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// TestEncryptedRepositoryHoldsNoPlaintext backs up the 0.11 fixture into an
// encrypted and a plain repository and looks for the root's file and
// directory names and for pieces of its files' bytes in every object: the
// plain repository holds them (so the search works), the encrypted one
// holds none.
func TestEncryptedRepositoryHoldsNoPlaintext(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	needles := plaintextNeedles(t, root)
	kdf := repository.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
	for _, c := range []struct {
		name    string
		encrypt bool
	}{{"plain", false}, {"encrypted", true}} {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "repo")
			opts := repository.Options{}
			if c.encrypt {
				opts.Credentials = &repository.Credentials{Password: []byte("secret")}
			}
			repo, err := repository.Init(t.Context(), local.New(dir), repository.InitOptions{Encrypt: c.encrypt, KDF: &kdf}, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer repo.Close()
			if _, err := backup.Run(t.Context(), repo, backup.Options{Roots: banyandb.Roots{Root: root}, Tags: []string{"tag-in-the-manifest"}}); err != nil {
				t.Fatal(err)
			}
			found := map[string]bool{}
			err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() || filepath.Base(path) == "config" {
					return err
				}
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				for _, n := range needles {
					if bytes.Contains(data, []byte(n)) {
						found[n] = true
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if c.encrypt && len(found) > 0 {
				t.Errorf("the encrypted repository holds %d of %d plaintext pieces, such as %q", len(found), len(needles), anyKey(found))
			}
			// Plain incompressible files are stored raw: pieces of them
			// must show there (trees and manifests are compressed).
			if !c.encrypt && len(found) < 6 {
				t.Errorf("the plain repository holds only %d of %d plaintext pieces (%v): the search does not work", len(found), len(needles), found)
			}
		})
	}
}

// plaintextNeedles are names under root and 24-byte pieces of its larger
// files, and a tag.
func plaintextNeedles(t *testing.T, root string) []string {
	t.Helper()
	needles := []string{"tag-in-the-manifest", "bk_measure", "bk_stream", "metadata.json", "seg-2026"}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if len(data) >= 256 && len(needles) < 60 {
			needles = append(needles, string(data[100:124]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return needles
}

func anyKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}
