package backup_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// partFiles counts the files inside part directories of a layout.
func partFiles(t *testing.T, roots banyandb.Roots) int64 {
	t.Helper()
	l, err := banyandb.Scan(context.Background(), roots, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, f := range l.Files {
		if f.Part != "" {
			n++
		}
	}
	return n
}

// While a slow node takes its snapshot, the backup reads the live part
// files; the snapshot's hard links to them are not read again, and the
// backup restores to exactly the snapshot's bytes. The next backup reads
// nothing its parent has.
func TestLiveBackupUsesTheFilesReadDuringTheSnapshot(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{})
	if err := srv.SetFaults(sim.Faults{SlowSnapshot: sim.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t)
	res, taken := liveKeeping(t, repo, root, srv.GRPCAddr())
	want := partFiles(t, taken)
	pre, sum := res.Preread, res.Manifest.Summary
	if want == 0 || pre.Files != want || pre.FilesUsed != want || pre.BytesUsed != pre.Bytes {
		t.Errorf("preread %+v; the snapshot holds %d part files, all of them live and quiet", pre, want)
	}
	if sum.FilesRead != sum.Files || sum.BytesRead != sum.Bytes {
		t.Errorf("summary %+v: a first backup reads every file, some of them during the snapshot", sum)
	}
	target := filepath.Join(t.TempDir(), "t")
	if _, err := restore.Run(ctx, repo, repository.Backup{ID: res.ID, Manifest: res.Manifest}, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
		t.Fatal(err)
	}
	sameContent(t, taken, banyandb.Roots{Root: target})

	// The parent holds every live part file unchanged: nothing to read.
	res2, err := backup.RunLive(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC}, liveOpts(srv.GRPCAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if res2.Preread.Files != 0 || res2.Manifest.Parent == nil || *res2.Manifest.Parent != res.ID {
		t.Errorf("second backup: preread %+v, parent %v; want nothing read, parent %s", res2.Preread, res2.Manifest.Parent, res.ID.Short())
	}
}

// Under flushes and merges, parts the preread read vanish and new ones
// come: whatever it read, each backup restores to the snapshot's bytes.
func TestLiveBackupWithPrereadUnderMerges(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{FlushInterval: 10 * time.Millisecond, MergeEvery: 2, BlugeEvery: 3, Seed: 3})
	if err := srv.SetFaults(sim.Faults{SlowSnapshot: sim.Duration(300 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t)
	var used int64
	for i := range 3 {
		res, taken := liveKeeping(t, repo, root, srv.GRPCAddr())
		used += res.Preread.FilesUsed
		target := filepath.Join(t.TempDir(), "t")
		if _, err := restore.Run(ctx, repo, repository.Backup{ID: res.ID, Manifest: res.Manifest}, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
		sameContentBut(t, taken, banyandb.Roots{Root: target}, res.Manifest.LackingParts)
	}
	if st := srv.Stats(); st.Merges == 0 || used == 0 {
		t.Errorf("merges %d, preread files used %d: want both", st.Merges, used)
	}
}

// A snapshot that fails after the backup has read and stored live parts
// fails the backup naming the catalog, lists nothing and leaves no
// snapshot directory; the repository verifies, and the next backup reuses
// the packs the failed one stored instead of storing them again.
func TestFailedLiveBackupAfterPrereadLeavesTheRepositoryUsable(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{})
	if err := srv.SetFaults(sim.Faults{SlowSnapshot: sim.Duration(time.Second), ErrorCatalog: "stream"}); err != nil {
		t.Fatal(err)
	}
	// Small packs: the failed backup stores some before the answer comes.
	dir := filepath.Join(t.TempDir(), "repo")
	repo, err := repository.Init(ctx, local.New(dir), repository.InitOptions{PackSize: 16 << 10}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	before := snapshotDirs(t, root)
	opts := backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC}
	_, err = backup.RunLive(ctx, repo, opts, liveOpts(srv.GRPCAddr()))
	if !errors.Is(err, backup.ErrSnapshotFailed) || !strings.Contains(err.Error(), "stream") {
		t.Fatalf("error = %v, want ErrSnapshotFailed naming stream", err)
	}
	if backups, _ := repo.Backups(ctx); len(backups) != 0 {
		t.Errorf("a failed live backup is listed")
	}
	if after := snapshotDirs(t, root); !slices.Equal(before, after) {
		t.Errorf("snapshot directories left: before %v, after %v", before, after)
	}
	v, err := repo.Verify(ctx, repository.VerifyOptions{ReadData: true})
	if err != nil || len(v.Problems) > 0 {
		t.Fatalf("verify after a failed live backup: %v %v", err, v.Problems)
	}
	if countFiles(t, filepath.Join(dir, "data")) == 0 {
		t.Fatal("the failed backup stored nothing while the node was slow: the test tests nothing")
	}

	if err := srv.SetFaults(sim.Faults{}); err != nil {
		t.Fatal(err)
	}
	res, err := backup.RunLive(ctx, repo, opts, liveOpts(srv.GRPCAddr()))
	if err != nil {
		t.Fatal(err)
	}
	// Without reuse every file would add at least one blob.
	if sum := res.Manifest.Summary; sum.BlobsAdded >= sum.Files {
		t.Errorf("the next backup added %d blobs for %d files: it did not reuse the failed one's packs", sum.BlobsAdded, sum.Files)
	}
}
