package backup_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// initAt creates a repository in a new directory.
func initAt(t *testing.T, init repository.InitOptions) (string, *repository.Repository) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	r, err := repository.Init(t.Context(), local.New(dir), init, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return dir, r
}

// restoreInto restores backup b of repo into a new directory.
func restoreInto(t *testing.T, repo *repository.Repository, b repository.Backup) banyandb.Roots {
	t.Helper()
	roots := banyandb.Roots{Root: filepath.Join(t.TempDir(), "t")}
	if _, err := restore.Run(t.Context(), repo, b, restore.Options{Roots: roots}); err != nil {
		t.Fatal(err)
	}
	return roots
}

func statuses(res *backup.CopyResult) string {
	var out []string
	for _, b := range res.Backups {
		out = append(out, string(b.Status))
	}
	return strings.Join(out, ",")
}

// A copy into an empty repository makes the same backup there (same root
// tree, time and host); a later copy into the now partly filled repository
// copies only the new backup, and of it only the blobs the destination
// lacks; a copy with nothing new copies nothing. The destination verifies
// with read-data and restores what the source does.
func TestCopyIntoEmptyThenPartlyFilledRepository(t *testing.T) {
	ctx := t.Context()
	srcDir, opts := commitFixture(t) // one backup; the root has a new part
	src := openAt(t, local.New(srcDir), repository.Options{})
	dstDir, dst := initAt(t, repository.InitOptions{PackSize: 64 << 10})

	first, err := backup.Copy(ctx, src, dst, backup.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if statuses(first) != "copied" {
		t.Fatalf("first copy: %s, want copied", statuses(first))
	}
	c := first.Backups[0]
	if c.Backup.Tree != c.Source.Tree || !c.Backup.Time.Equal(c.Source.Time) || c.Backup.Host() != c.Source.Host() {
		t.Errorf("the copy is another backup: %+v, source %+v", c.Backup.Manifest, c.Source.Manifest)
	}
	if c.Backup.CopiedFrom == nil || c.Backup.CopiedFrom.Backup != c.Source.ID || c.Backup.CopiedFrom.Repository != src.Config().ID {
		t.Errorf("copied_from %+v, want backup %s of %s", c.Backup.CopiedFrom, c.Source.ID.Short(), src.Config().ID)
	}

	second, err := backup.Run(ctx, src, opts) // the new part
	if err != nil {
		t.Fatal(err)
	}
	packsBefore := dirBytes(t, filepath.Join(dstDir, "data"))
	again, err := backup.Copy(ctx, src, dst, backup.CopyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if statuses(again) != "present,copied" {
		t.Fatalf("second copy: %s, want present,copied", statuses(again))
	}
	// The new part is 8 files of 24 KiB of random bytes: 8 data blobs,
	// and the trees above it.
	n := again.Backups[1]
	if n.Counts.Blobs != 8 || n.Counts.StoredBytes > 8*24<<10+16<<10 {
		t.Errorf("the copy of the incremental backup stored %+v; want the new part's 8 blobs (192 KiB) and its trees", n.Counts)
	}
	if grew := dirBytes(t, filepath.Join(dstDir, "data")) - packsBefore; grew > 8*24<<10+32<<10 {
		t.Errorf("the destination's packs grew by %d bytes for a part of %d", grew, 8*24<<10)
	}
	// Only the trees on the path to the new part differ from the parent's,
	// which the destination holds: only they are read.
	if n.TreesRead > 8 || c.TreesRead != c.Counts.Trees {
		t.Errorf("the copies read %d trees (of %d) and %d; want all, then the path to the new part only", c.TreesRead, c.Counts.Trees, n.TreesRead)
	}
	if n.Backup.Parent == nil || *n.Backup.Parent != c.Backup.ID {
		t.Errorf("the copy's parent is %v, want the copy of the source's parent %s", n.Backup.Parent, c.Backup.ID.Short())
	}
	if none, err := backup.Copy(ctx, src, dst, backup.CopyOptions{}); err != nil || statuses(none) != "present,present" {
		t.Fatalf("third copy: %v %v, want present,present", statuses(none), err)
	}

	verifyClean(t, dstDir, 2)
	sameContent(t, opts.Roots, restoreInto(t, dst, n.Backup))
	sameContent(t, restoreInto(t, src, c.Source), restoreInto(t, dst, c.Backup))
	if second.ID == n.Backup.ID {
		t.Error("the copy has the source's id, though it records copied_from")
	}
}

// Blobs are copied as they are stored: a compressed blob is not
// decompressed and compressed again, and every blob takes the same bytes
// in both repositories.
func TestCopyKeepsStoredBytes(t *testing.T) {
	ctx := t.Context()
	srcDir, _ := commitFixture(t)
	src := openAt(t, local.New(srcDir), repository.Options{})
	_, dst := initAt(t, repository.InitOptions{})
	if _, err := backup.Copy(ctx, src, dst, backup.CopyOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := dst.FindBackup(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	compressed := 0
	err = dst.Walk(ctx, b.Tree, func(_ string, n *repository.Node) error {
		for _, id := range n.Blobs {
			s, _ := src.Index().Lookup(id)
			d, ok := dst.Index().Lookup(id)
			if !ok || d.Length != s.Length || d.Compression != s.Compression || d.RawLength != s.RawLength {
				t.Errorf("blob %s: stored %+v in the source, %+v in the destination", id.Short(), s.PackedBlob, d.PackedBlob)
			}
			if d.Compression != "" {
				compressed++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if compressed == 0 {
		t.Error("the fixture has no compressed blob: the test proves nothing")
	}
}

// A dry run plans every backup the destination lacks and writes nothing.
func TestCopyDryRunWritesNothing(t *testing.T) {
	ctx := t.Context()
	srcDir, opts := commitFixture(t)
	src := openAt(t, local.New(srcDir), repository.Options{})
	if _, err := backup.Run(ctx, src, opts); err != nil {
		t.Fatal(err)
	}
	dstDir, dst := initAt(t, repository.InitOptions{})
	res, err := backup.Copy(ctx, src, dst, backup.CopyOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if statuses(res) != "planned,planned" || res.Backups[0].Counts.Blobs == 0 || res.Backups[1].Counts.Blobs != 8 {
		t.Fatalf("dry run: %s, counts %+v %+v", statuses(res), res.Backups[0].Counts, res.Backups[1].Counts)
	}
	for _, d := range []string{"data", "index", "manifests", "locks"} {
		if n := filesIn(t, filepath.Join(dstDir, d)); n != 0 {
			t.Errorf("a dry run wrote %d files into %s", n, d)
		}
	}
}

// A copy from a repository whose pack is damaged fails with an integrity
// error and writes no manifest; the destination still verifies.
func TestCopyFromDamagedRepositoryWritesNoManifest(t *testing.T) {
	ctx := t.Context()
	srcDir, _ := commitFixture(t)
	damageDataPack(t, srcDir)
	src := openAt(t, local.New(srcDir), repository.Options{})
	dstDir, dst := initAt(t, repository.InitOptions{})
	_, err := backup.Copy(ctx, src, dst, backup.CopyOptions{})
	if !errors.Is(err, repository.ErrIntegrity) {
		t.Fatalf("copy from a damaged repository: %v, want an integrity error", err)
	}
	if n := filesIn(t, filepath.Join(dstDir, "manifests")); n != 0 {
		t.Fatalf("a failed copy wrote %d manifests", n)
	}
	if n := filesIn(t, filepath.Join(dstDir, "locks")); n != 0 {
		t.Errorf("a failed copy left %d locks", n)
	}
	verifyClean(t, dstDir, 0)
}

// damageDataPack flips a byte inside the first blob of the largest data
// pack of the repository in dir.
func damageDataPack(t *testing.T, dir string) {
	t.Helper()
	var path string
	var size int64
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		blobs, err := repository.ParsePack(data)
		if err == nil && len(blobs) > 0 && blobs[0].Type == repository.DataBlob && int64(len(data)) > size {
			path, size = p, int64(len(data))
		}
		return nil
	})
	if err != nil || path == "" {
		t.Fatalf("no data pack in %s: %v", dir, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data[10] ^= 0x40
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Repositories that cut files differently, and a repository and itself,
// are refused before anything is written.
func TestCopyRefusesOtherChunkingAndItself(t *testing.T) {
	ctx := t.Context()
	srcDir, _ := commitFixture(t)
	src := openAt(t, local.New(srcDir), repository.Options{})
	dstDir, dst := initAt(t, repository.InitOptions{ChunkSize: 1 << 20})
	_, err := backup.Copy(ctx, src, dst, backup.CopyOptions{})
	if err == nil || !strings.Contains(err.Error(), "chunks of 4194304 bytes; blake3-256, fixed chunks of 1048576 bytes") {
		t.Fatalf("copy into a repository of 1 MiB chunks: %v", err)
	}
	if n := filesIn(t, dstDir) - 1; n != 0 { // its config
		t.Errorf("a refused copy wrote %d files", n)
	}
	same := openAt(t, local.New(srcDir), repository.Options{})
	if _, err := backup.Copy(ctx, src, same, backup.CopyOptions{}); err == nil || !strings.Contains(err.Error(), "same repository") {
		t.Fatalf("copy of a repository into itself: %v", err)
	}
}

// dirBytes totals the sizes of the files below dir.
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

// filesIn counts the files below dir; 0 when there is no dir.
func filesIn(t *testing.T, dir string) int {
	t.Helper()
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return 0
	}
	return countFiles(t, dir)
}

// packNames lists the pack ids stored in the repository in dir.
func packNames(t *testing.T, dir string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := filepath.WalkDir(filepath.Join(dir, "data"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
			out[d.Name()] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// When the destination holds some of a source pack's blobs, the others
// are read from it one by one, each checked (a damaged one fails the
// copy), into new packs; packs it lacks entirely are copied whole, under
// their own names.
func TestCopyOfPartlyHeldPacks(t *testing.T) {
	ctx := t.Context()
	srcDir, opts := commitFixture(t) // 8 KiB packs: many, mixing catalogs
	src := openAt(t, local.New(srcDir), repository.Options{})
	dstDir, dst := initAt(t, repository.InitOptions{PackSize: 8 << 10})
	// The destination backs up part of the root itself: its blobs are in
	// the source's packs beside others.
	part := opts
	part.Catalogs = []banyandb.Catalog{banyandb.Measure}
	if _, err := backup.Run(ctx, dst, part); err != nil {
		t.Fatal(err)
	}
	own := packNames(t, dstDir)

	// A blob the destination lacks, in a pack it holds other blobs of.
	var damaged string
	var off int64
	for name := range packNames(t, srcDir) {
		path := filepath.Join(srcDir, "data", name[:2], name)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		blobs, err := repository.ParsePack(data)
		if err != nil {
			t.Fatal(err)
		}
		held, lacking := 0, -1
		for i, b := range blobs {
			if dst.Index().Has(b.ID) {
				held++
			} else if b.Type == repository.DataBlob {
				lacking = i
			}
		}
		if held > 0 && lacking >= 0 {
			damaged, off = path, int64(blobs[lacking].Offset)
			break
		}
	}
	if damaged == "" {
		t.Fatal("no source pack holds both blobs the destination has and data blobs it lacks")
	}
	flip := func() {
		data, err := os.ReadFile(damaged)
		if err != nil {
			t.Fatal(err)
		}
		data[off] ^= 0x40
		if err := os.WriteFile(damaged, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	flip()
	if _, err := backup.Copy(ctx, src, dst, backup.CopyOptions{}); !errors.Is(err, repository.ErrIntegrity) || !strings.Contains(err.Error(), "blob") {
		t.Fatalf("copy of a damaged blob: %v, want an integrity error naming the blob", err)
	}
	if bs, err := dst.Backups(ctx); err != nil || len(bs) != 1 {
		t.Fatalf("after a failed copy the destination lists %d backups (%v), want its own one", len(bs), err)
	}
	flip()
	res, err := backup.Copy(ctx, src, dst, backup.CopyOptions{})
	if err != nil || statuses(res) != "copied" {
		t.Fatalf("copy: %v %v", statuses(res), err)
	}
	srcPacks, whole, fresh := packNames(t, srcDir), 0, 0
	for name := range packNames(t, dstDir) {
		switch {
		case srcPacks[name]:
			whole++
		case !own[name]:
			fresh++
		}
	}
	if whole == 0 || fresh == 0 {
		t.Errorf("%d source packs copied whole and %d new packs of blobs copied one by one; want both", whole, fresh)
	}
	verifyClean(t, dstDir, 2)
	sameContent(t, restoreInto(t, src, res.Backups[0].Source), restoreInto(t, dst, res.Backups[0].Backup))
}

// A member of a cluster backup is copied as a backup of its own: its copy
// names no cluster operation, so a prune of the destination, which has no
// set, does not take it for an orphan.
func TestCopyOfAClusterMemberStandsAlone(t *testing.T) {
	ctx := t.Context()
	srcDir, _ := commitFixture(t)
	src := openAt(t, local.New(srcDir), repository.Options{})
	b, err := src.FindBackup(ctx, "latest")
	if err != nil {
		t.Fatal(err)
	}
	member := *b.Manifest
	member.Time = member.Time.Add(time.Second) // another backup than b
	member.ClusterOperation = "0123456789abcdef0123456789abcdef"
	if _, _, err := src.SaveManifest(ctx, &member); err != nil {
		t.Fatal(err)
	}
	dstDir, dst := initAt(t, repository.InitOptions{})
	res, err := backup.Copy(ctx, src, dst, backup.CopyOptions{})
	if err != nil || statuses(res) != "copied,copied" {
		t.Fatalf("copy: %v %v", statuses(res), err)
	}
	if op := res.Backups[1].Backup.ClusterOperation; op != "" {
		t.Errorf("the copy of a cluster member names operation %q", op)
	}
	lock, err := dst.Lock(ctx, "prune", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dst.Prune(ctx, lock, repository.PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := lock.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	verifyClean(t, dstDir, 2)
}
