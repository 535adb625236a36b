package backup_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/sim"
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
	before := snapshotDirs(t, root)
	opts := liveOpts(srv.GRPCAddr())
	opts.KeepSnapshot = true
	res, err := backup.RunLive(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC}, opts)
	if err != nil {
		t.Fatal(err)
	}
	taken := takenRoots(t, root, before)
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
		before := snapshotDirs(t, root)
		opts := liveOpts(srv.GRPCAddr())
		opts.KeepSnapshot = true
		res, err := backup.RunLive(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC}, opts)
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		used += res.Preread.FilesUsed
		taken := takenRoots(t, root, before)
		target := filepath.Join(t.TempDir(), "t")
		if _, err := restore.Run(ctx, repo, repository.Backup{ID: res.ID, Manifest: res.Manifest}, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
		sameContent(t, taken, banyandb.Roots{Root: target})
	}
	if st := srv.Stats(); st.Merges == 0 || used == 0 {
		t.Errorf("merges %d, preread files used %d: want both", st.Merges, used)
	}
}
