package backup_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// A snapshot the node took before the backup began (a cluster agent's) is
// uploaded as a live backup's: the backup restores to exactly the
// snapshot's files (its claim file left out), records the node, its API
// version, the host given and, from the commit, the cluster operation;
// the snapshot's directories are gone once uploaded.
func TestUploadTakenSnapshot(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{})
	client, err := snapshot.Dial(ctx, snapshot.Options{Node: srv.GRPCAddr()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	version, err := client.APIVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshotDirs(t, root)
	taken, err := client.Snapshot(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	// What the backup must hold: a copy of the snapshot, made before.
	want := banyandb.Roots{Data: map[banyandb.Catalog]string{}}
	for c, dir := range takenRoots(t, root, before).Data {
		dst := filepath.Join(t.TempDir(), string(c))
		if out, err := exec.Command("cp", "-a", dir, dst).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v %s", err, out)
		}
		want.Data[c] = dst
	}
	if len(want.Data) != 5 {
		t.Fatalf("the node took snapshots of %v, want all five catalogs", want.Data)
	}

	repo := newRepo(t)
	opts := backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC, Host: "data-0:17912", Tags: []string{"t"}}
	up, err := backup.UploadTaken(ctx, repo, opts, backup.TakenSnapshot{Node: srv.GRPCAddr(), APIVersion: version, Taken: taken})
	if err != nil {
		t.Fatal(err)
	}
	if dirs := snapshotDirs(t, root); len(dirs) != len(before) {
		t.Errorf("snapshot directories once uploaded: %v, before the snapshot %v", dirs, before)
	}
	const op = "00112233445566778899aabbccddeeff"
	res, err := up.CommitWith(ctx, backup.CommitOptions{ClusterOperation: op})
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if m.ClusterOperation != op || m.Hostname != "data-0:17912" || m.Source.Type != "node" || m.Source.Node != srv.GRPCAddr() ||
		m.Source.APIVersion == "" || len(m.Catalogs) != 5 || m.Source.Roots["measure"] != filepath.Join(root, "measure", "data") ||
		res.SnapshotRemoveError != "" {
		t.Errorf("manifest: operation %q host %q source %+v catalogs %v; snapshot removal %q", m.ClusterOperation, m.Hostname, m.Source,
			m.Catalogs, res.SnapshotRemoveError)
	}
	target := filepath.Join(t.TempDir(), "t")
	if _, err := restore.Run(ctx, repo, repository.Backup{ID: res.ID, Manifest: m}, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
		t.Fatal(err)
	}
	sameContentBut(t, want, banyandb.Roots{Root: target}, m.LackingParts)
}

// The parent of a backup of a snapshot taken is the newest backup of the
// same node (its host), not another node's with the same roots: the
// nodes of a cluster keep their data at the same path.
func TestUploadTakenParentIsTheSameNodes(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{})
	client, err := snapshot.Dial(ctx, snapshot.Options{Node: srv.GRPCAddr()})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	repo := newRepo(t)
	backupAs := func(host string) *backup.Result {
		t.Helper()
		taken, err := client.Snapshot(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		opts := backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC, Host: host}
		up, err := backup.UploadTaken(ctx, repo, opts, backup.TakenSnapshot{Node: srv.GRPCAddr(), Taken: taken})
		if err != nil {
			t.Fatal(err)
		}
		res, err := up.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	backupAs("data-1:17912")
	first := backupAs("data-0:17912")
	if first.Manifest.Parent != nil {
		t.Errorf("data-0's first backup has parent %s, another node's", first.Manifest.Parent.Short())
	}
	second := backupAs("data-0:17912")
	if p := second.Manifest.Parent; p == nil || *p != first.ID || second.Manifest.Summary.FilesUnchanged == 0 {
		t.Errorf("data-0's second backup: parent %v, %d files unchanged; want %s, most", p, second.Manifest.Summary.FilesUnchanged, first.ID.Short())
	}
}
