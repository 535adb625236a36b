package restore_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/storage/counting"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// damagePartPack flips a byte in the middle of the pack that holds the
// first blob of the backup's last primary.bin, and returns the pack.
func damagePartPack(t *testing.T, repo *repository.Repository, b repository.Backup, repoDir string) repository.ID {
	t.Helper()
	var pack repository.ID
	err := repo.Walk(context.Background(), b.Tree, func(path string, n *repository.Node) error {
		if strings.HasSuffix(path, "/primary.bin") && len(n.Blobs) > 0 {
			loc, _ := repo.Index().Lookup(n.Blobs[0])
			pack = loc.Pack
		}
		return nil
	})
	if err != nil || pack == (repository.ID{}) {
		t.Fatalf("no part file found: %v", err)
	}
	name := filepath.Join(repoDir, "data", pack.String()[:2], pack.String())
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return pack
}

// treeOf lists every path below dir with its content ("" for a
// directory); nil when dir does not exist.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[rel] = ""
			return nil
		}
		data, err := os.ReadFile(p)
		out[rel] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDamagedPackFoundWhileWritingLeavesTargetUntouched: by default a
// restore reads each pack once and hashes blobs as it stages them; a
// damaged pack stops it with ErrIntegrity, naming the backup, a file and
// the blob, after the staging directory was made, and the target is then
// exactly as it was: no staging directory, no marker, nothing moved in,
// an existing empty directory kept and a missing one not created.
func TestDamagedPackFoundWhileWritingLeavesTargetUntouched(t *testing.T) {
	cases := []struct {
		name     string
		prepare  func(t *testing.T, target string)
		existing restore.ExistingPolicy
	}{
		{"absent target", func(*testing.T, string) {}, restore.RefuseExisting},
		{"empty directory", func(t *testing.T, target string) {
			if err := os.Mkdir(target, 0o755); err != nil {
				t.Fatal(err)
			}
		}, restore.RefuseExisting},
		{"merge into a root holding data", func(t *testing.T, target string) {
			own := filepath.Join(target, "measure", "data", "own_group", "seg-20260101")
			if err := os.MkdirAll(own, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(own, "metadata"), []byte("the target's own"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, restore.Merge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			repo, _, b, repoDir := setupDir(t)
			damagePartPack(t, repo, b, repoDir)
			target := filepath.Join(t.TempDir(), "target")
			c.prepare(t, target)
			before := treeOf(t, target)

			var steps []string
			opts := restore.Options{Roots: banyandb.Roots{Root: target}, Existing: c.existing}
			restore.SetStepHook(&opts, func(step string) error { steps = append(steps, step); return nil })
			_, err := restore.Run(context.Background(), repo, b, opts)
			if !errors.Is(err, repository.ErrIntegrity) {
				t.Fatalf("restore from a damaged pack: %v, want ErrIntegrity", err)
			}
			for _, want := range []string{b.ID.Short(), "file ", "blob ", "nothing was moved"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			// The blob named beside the file is the damaged one, whether it
			// fails its hash or, compressed, does not decompress.
			var be *repository.BlobError
			if !errors.As(err, &be) || !strings.Contains(err.Error(), "(blob "+be.Blob.Short()) {
				t.Errorf("error %q does not name the damaged blob beside a file using it", err)
			}
			if len(steps) == 0 || steps[len(steps)-1] != "staging created" {
				t.Errorf("steps %v: the damage was not found while writing into the staging directory", steps)
			}
			after := treeOf(t, target)
			if len(after) != len(before) {
				t.Errorf("target held %d entries before, %d after: %v", len(before), len(after), after)
			}
			for p, data := range before {
				if got, ok := after[p]; !ok || got != data {
					t.Errorf("%s changed in the target", p)
				}
			}
		})
	}
}

// TestRestoreReadsEachPackOnce: a default restore downloads no more than
// the repository's packs, each once, though every blob is verified; a
// restore with VerifyPreRead reads the data packs twice.
func TestRestoreReadsEachPackOnce(t *testing.T) {
	_, root, b, repoDir := setupDir(t)
	var packBytes int64
	err := filepath.WalkDir(filepath.Join(repoDir, "data"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		st, err := d.Info()
		packBytes += st.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	restoreCounting := func(mode restore.VerifyMode) int64 {
		ctx := context.Background()
		be := counting.Wrap(local.New(repoDir))
		repo, err := repository.Open(ctx, be, repository.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer repo.Close()
		opened := be.Counts().Downloaded
		target := filepath.Join(t.TempDir(), "target")
		res, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Verify: mode})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verify != mode {
			t.Errorf("restore reports verify %q, want %q", res.Verify, mode)
		}
		sameFiles(t, root, target)
		return be.Counts().Downloaded - opened
	}
	once := restoreCounting(restore.VerifyWhileWriting)
	twice := restoreCounting(restore.VerifyPreRead)
	t.Logf("packs %d bytes; restore read %d, with a pre-read %d", packBytes, once, twice)
	if once > packBytes {
		t.Errorf("a restore read %d bytes from a repository whose packs hold %d: some were read twice", once, packBytes)
	}
	if twice <= packBytes {
		t.Errorf("a restore with a pre-read read %d bytes of %d in packs: the pre-read did not read the data packs", twice, packBytes)
	}
}

func TestParseVerifyMode(t *testing.T) {
	for in, want := range map[string]restore.VerifyMode{
		"": restore.VerifyWhileWriting, "while-writing": restore.VerifyWhileWriting,
		"auto": restore.VerifyWhileWriting, "quick": restore.VerifyWhileWriting,
		"pre-read": restore.VerifyPreRead, "full": restore.VerifyPreRead,
	} {
		if got, err := restore.ParseVerifyMode(in); err != nil || got != want {
			t.Errorf("ParseVerifyMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := restore.ParseVerifyMode("sometimes"); err == nil {
		t.Error("ParseVerifyMode accepted an unknown mode")
	}
}

// A restore verifies what it writes blob by blob: damage elsewhere in the
// data packs it reads (here each one's last byte, in its trailer, which no
// blob covers) does not stop it, and the restored files are the backup's.
// Finding such damage is verify --read-data's work, which does.
func TestDamageOutsideNeededBlobsDoesNotStopRestore(t *testing.T) {
	ctx := context.Background()
	repo, root, b, repoDir := setupDir(t)
	packs := map[repository.ID]bool{}
	err := repo.Walk(ctx, b.Tree, func(_ string, n *repository.Node) error {
		for _, id := range n.Blobs {
			loc, _ := repo.Index().Lookup(id)
			packs[loc.Pack] = true
		}
		return nil
	})
	if err != nil || len(packs) == 0 {
		t.Fatalf("no data packs: %v", err)
	}
	for pack := range packs {
		name := filepath.Join(repoDir, "data", pack.String()[:2], pack.String())
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)-1] ^= 0xff
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	target := filepath.Join(t.TempDir(), "target")
	if _, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
		t.Fatalf("restore with only the data packs' trailers damaged: %v", err)
	}
	sameFiles(t, root, target)
	res, err := repo.Verify(ctx, repository.VerifyOptions{ReadData: true})
	if err != nil || len(res.Problems) == 0 {
		t.Errorf("verify --read-data of packs with damaged trailers: %v, %d problems", err, len(res.Problems))
	}
}
