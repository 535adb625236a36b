package backup_test

import (
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// initEncrypted creates an encrypted repository with password pw.
func initEncrypted(t *testing.T, pw string) (string, *repository.Repository) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	kdf := repository.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
	r, err := repository.Init(t.Context(), local.New(dir), repository.InitOptions{PackSize: 64 << 10, Encrypt: true, KDF: &kdf},
		repository.Options{Credentials: &repository.Credentials{Password: []byte(pw)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return dir, r
}

// Copies between repositories of other keys, and between encrypted and
// plain ones, open each blob with the source's key and seal it with the
// destination's: the backup keeps its root tree, verifies and restores the
// same files, and a copy into a plain repository is readable without a key.
func TestCopyAcrossEncryption(t *testing.T) {
	ctx := t.Context()
	plainDir, _ := commitFixture(t)
	plain := openAt(t, local.New(plainDir), repository.Options{})
	sealedDir, sealed := initEncrypted(t, "first key")
	otherDir, other := initEncrypted(t, "second key")
	backAgainDir, backAgain := initAt(t, repository.InitOptions{PackSize: 64 << 10})

	for _, step := range []struct {
		name     string
		src, dst *repository.Repository
		dstDir   string
		creds    *repository.Credentials
	}{
		{"plain to encrypted", plain, sealed, sealedDir, &repository.Credentials{Password: []byte("first key")}},
		{"encrypted to encrypted", sealed, other, otherDir, &repository.Credentials{Password: []byte("second key")}},
		{"encrypted to plain", other, backAgain, backAgainDir, nil},
	} {
		res, err := backup.Copy(ctx, step.src, step.dst, backup.CopyOptions{})
		if err != nil || statuses(res) != "copied" {
			t.Fatalf("%s: %v %v", step.name, statuses(res), err)
		}
		c := res.Backups[0]
		if c.Backup.Tree != c.Source.Tree {
			t.Errorf("%s: the copy's root tree %s differs from the source's %s", step.name, c.Backup.Tree.Short(), c.Source.Tree.Short())
		}
		res2, err := openAt(t, local.New(step.dstDir), repository.Options{Credentials: step.creds}).Verify(ctx, repository.VerifyOptions{ReadData: true})
		if err != nil || len(res2.Problems) > 0 {
			t.Fatalf("%s: verify --read-data: %v %+v", step.name, err, res2)
		}
		sameContent(t, restoreInto(t, step.src, c.Source), restoreInto(t, step.dst, c.Backup))
	}
	// Packs of one key mean nothing under another: none is copied whole.
	theirs := packNames(t, otherDir)
	for name := range packNames(t, sealedDir) {
		if theirs[name] {
			t.Errorf("pack %s of the first encrypted repository was copied whole into the second", name[:8])
		}
	}
}
