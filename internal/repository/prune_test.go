package repository

import (
	"errors"
	"io/fs"
	"maps"
	"testing"
	"time"
)

// saveBackup stores blobs as one file, measure/f, and writes a manifest;
// it returns the backup id.
func saveBackup(t *testing.T, r *Repository, blobs ...[]byte) ID {
	t.Helper()
	ctx := t.Context()
	s := r.NewSaver(ctx)
	var sc Scratch
	node := Node{Name: "f", Type: NodeFile, Mode: 0o644}
	for _, b := range blobs {
		id := Hash(b)
		if _, err := s.Save(ctx, DataBlob, id, b, &sc); err != nil {
			t.Fatal(err)
		}
		node.Blobs = append(node.Blobs, id)
		node.Size += int64(len(b))
	}
	sub, _, err := s.SaveTree(ctx, &Tree{Entries: []Node{node}}, &sc)
	if err != nil {
		t.Fatal(err)
	}
	tree, _, err := s.SaveTree(ctx, &Tree{Entries: []Node{{Name: "measure", Type: NodeDir, Mode: fs.ModeDir | 0o755, Subtree: &sub}}}, &sc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	id, _, err := r.SaveManifest(ctx, &Manifest{Format: ManifestFormat, Time: time.Now(), Tree: tree})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// prune runs Prune under its own exclusive lock.
func prune(t *testing.T, r *Repository, opts PruneOptions) (*PruneResult, error) {
	t.Helper()
	l, err := r.Lock(t.Context(), "prune", true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(t.Context())
	return r.Prune(t.Context(), l, opts)
}

// forget removes backups under an exclusive lock.
func forget(t *testing.T, r *Repository, ids ...ID) {
	t.Helper()
	l, err := r.Lock(t.Context(), "forget", true)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock(t.Context())
	if err := r.RemoveBackups(t.Context(), l, ids); err != nil {
		t.Fatal(err)
	}
}

func TestPruneNeedsExclusiveLock(t *testing.T) {
	r := newTestRepo(t, backends()[0].new(t), smallPacks)
	if _, err := r.Prune(t.Context(), nil, PruneOptions{}); err == nil {
		t.Error("prune without a lock ran")
	}
	shared, err := r.Lock(t.Context(), "verify", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Prune(t.Context(), shared, PruneOptions{}); err == nil {
		t.Error("prune with a shared lock ran")
	}
	if err := r.RemoveBackups(t.Context(), shared, nil); err == nil {
		t.Error("forget with a shared lock ran")
	}
	shared.Unlock(t.Context())
	l, err := r.Lock(t.Context(), "prune", true)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock(t.Context())
	if _, err := r.Prune(t.Context(), l, PruneOptions{}); err == nil {
		t.Error("prune with a released lock ran")
	}
}

func TestPruneDeletesUnindexedPacks(t *testing.T) {
	for _, tb := range backends() {
		t.Run(tb.name, func(t *testing.T) {
			be := tb.new(t)
			r := newTestRepo(t, be, smallPacks)
			saveBackup(t, r, randBlob(1, 1000), randBlob(2, 1000))
			// A pack stored by a backup killed before its index file.
			stray := randBlob(3, 5000)
			id := Hash(stray)
			putObject(t, be, packName(id), stray)
			res, err := prune(t, r, PruneOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.PacksUnindexed != 1 || res.PacksDeleted != 1 || res.BytesFreed != 5000 || res.IndexFilesWritten != 0 {
				t.Errorf("prune: %+v; want the stray pack deleted and nothing else", *res)
			}
			if _, ok := objects(t, be, "data/")[packName(id)]; ok {
				t.Error("the unindexed pack is still there")
			}
		})
	}
}

func TestPruneDryRunChangesNothing(t *testing.T) {
	be := backends()[0].new(t)
	r := newTestRepo(t, be, smallPacks)
	old := saveBackup(t, r, randBlob(1, 40<<10), randBlob(2, 40<<10))
	saveBackup(t, r, randBlob(2, 40<<10), randBlob(3, 40<<10))
	forget(t, r, old)
	before := objects(t, be, "")
	res, err := prune(t, r, PruneOptions{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(before, objects(t, be, "")) {
		t.Error("a dry run changed the repository")
	}
	if !res.DryRun || res.BytesFreed < 40<<10 || res.PacksUnused+res.PacksRepacked == 0 {
		t.Errorf("dry run result %+v: want blob 1's 40 KiB to be freed", *res)
	}
	res2, err := prune(t, r, PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := res2.BytesBefore - res2.BytesAfter; got <= 0 || res2.PacksDeleted != res.PacksUnused+res.PacksRepacked {
		t.Errorf("prune %+v after dry run %+v", *res2, *res)
	}
	if r.Index().Has(Hash(randBlob(1, 40<<10))) || !r.Index().Has(Hash(randBlob(3, 40<<10))) {
		t.Error("after prune the in-memory index is stale")
	}
}

func TestPruneRefusesWhenBackupsNeedMissingData(t *testing.T) {
	be := backends()[1].new(t)
	r := newTestRepo(t, be, smallPacks)
	saveBackup(t, r, randBlob(1, 1000))
	old := saveBackup(t, r, randBlob(2, 1000))
	forget(t, r, old)
	// Lose the index: the remaining backup's blobs are in no index.
	for name := range objects(t, be, "index/") {
		if err := be.Delete(t.Context(), name); err != nil {
			t.Fatal(err)
		}
	}
	r2 := reopen(t, be)
	before := objects(t, be, "")
	_, err := prune(t, r2, PruneOptions{})
	if !errors.Is(err, ErrIntegrity) {
		t.Fatalf("prune = %v, want an integrity error", err)
	}
	if after := objects(t, be, ""); !maps.Equal(before, after) {
		t.Errorf("prune refused but changed the repository: %d objects before, %d after", len(before), len(after))
	}
}
