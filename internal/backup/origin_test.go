package backup_test

import (
	"crypto/rand"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// TestUnchangedLiveBackupReusesIndexCopies: on a node whose Bluge index
// files are most of its bytes, as on a real root of log streams, an
// unchanged live re-backup does not read the snapshot's copies of them
// (new files every time), and reads under 5% of the root's bytes; with
// --force-rehash it reads them all. The restored index files are the
// snapshot's bytes.
func TestUnchangedLiveBackupReusesIndexCopies(t *testing.T) {
	ctx := t.Context()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	for i, seg := range []string{"seg-20261120", "seg-20261121", "seg-20261122"} {
		idx := filepath.Join(root, "stream", "data", "bk_stream", seg, "shard-0", "idx")
		data := make([]byte, 3<<20+i*4099)
		rand.Read(data)
		if err := os.WriteFile(filepath.Join(idx, fmt.Sprintf("%012x.seg", 0x100+i)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := startSimOn(t, root, sim.Workload{})
	repo := newRepo(t)
	opts := backup.Options{Roots: banyandb.Roots{Root: root}}

	first, err := backup.RunLive(ctx, repo, opts, liveOpts(srv.GRPCAddr()))
	if err != nil {
		t.Fatal(err)
	}
	total := first.Summary.Bytes
	if idx := indexBytes(t, root); idx*2 < total {
		t.Fatalf("index files hold %d of %d bytes: not most of the root", idx, total)
	}
	again, err := backup.RunLive(ctx, repo, opts, liveOpts(srv.GRPCAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if read := again.Summary.BytesRead; read*20 >= total {
		t.Errorf("the unchanged live re-backup read %d of %d bytes (%.1f%%), want under 5%%", read, total, 100*float64(read)/float64(total))
	}
	// Its part directories are the parent's: the snapshot's new
	// directories hold hard links to the same commit markers.
	firstParts, againParts := partInodes(t, repo, first.Tree), partInodes(t, repo, again.Tree)
	if len(firstParts) == 0 || !maps.Equal(firstParts, againParts) {
		t.Errorf("the re-backup walked part directories again: %d parts, %d of them recorded as in the parent",
			len(againParts), sameCount(firstParts, againParts))
	}

	opts.ForceRehash = true
	forced, err := backup.RunLive(ctx, repo, opts, liveOpts(srv.GRPCAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if forced.Summary.BytesRead != total {
		t.Errorf("--force-rehash read %d of %d bytes", forced.Summary.BytesRead, total)
	}
	if forced.Summary.BytesAdded > again.Summary.BytesAdded+64<<10 {
		t.Errorf("the forced re-read stored %d bytes, the reuse %d: the reused blobs were not the copies' bytes", forced.Summary.BytesAdded, again.Summary.BytesAdded)
	}
}

// partInodes maps each part directory of a backup to its recorded inode.
func partInodes(t *testing.T, repo *repository.Repository, tree repository.ID) map[string]uint64 {
	t.Helper()
	out := map[string]uint64{}
	err := repo.Walk(t.Context(), tree, func(p string, n *repository.Node) error {
		if n.Part != nil {
			out[p] = n.Inode
			return repository.SkipDir
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameCount(a, b map[string]uint64) int {
	n := 0
	for k, v := range a {
		if b[k] == v {
			n++
		}
	}
	return n
}

// indexBytes totals the live Bluge index files under root.
func indexBytes(t *testing.T, root string) int64 {
	t.Helper()
	var n int64
	for _, c := range banyandb.AllCatalogs() {
		l, err := banyandb.Scan(t.Context(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Catalogs: []banyandb.Catalog{c}})
		if err != nil {
			continue
		}
		for _, f := range l.Files {
			if f.Kind == banyandb.KindIndex {
				n += f.Size
			}
		}
	}
	return n
}
