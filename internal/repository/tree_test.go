package repository

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

func sampleTree(sub ID, blob ID) *Tree {
	start := time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC)
	return &Tree{Entries: []Node{
		{Name: "0000000000000001", Type: NodeDir, Mode: fs.ModeDir | 0o755, Subtree: &sub,
			Part: &PartInfo{MinTimestamp: 1795046400000000000, MaxTimestamp: 1795132200000000000, TotalCount: 288, CompressedSize: 1828}},
		{Name: "fv.bin", Type: NodeFile, Mode: 0o644, Size: 608, ModTime: time.Date(2026, 11, 23, 19, 44, 10, 100_000_000, time.UTC),
			Inode: 1234, Blobs: []ID{blob, blob}},
		{Name: "seg-20261119", Type: NodeDir, Mode: fs.ModeDir | 0o755, Subtree: &sub,
			Segment: &SegmentInfo{Start: start, End: start.Add(24 * time.Hour), EndKnown: true, Version: "1.5.0"}},
		{Name: "zero", Type: NodeFile, Mode: 0o600},
	}}
}

func TestTreeRoundTrip(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	s := r.NewSaver(ctx)
	var sc Scratch
	leaf, added, err := s.SaveTree(ctx, &Tree{Entries: []Node{}}, &sc)
	if err != nil || !added {
		t.Fatalf("SaveTree(leaf) = %v, %v", added, err)
	}
	in := sampleTree(leaf, Hash([]byte("blob")))
	id, added, err := s.SaveTree(ctx, in, &sc)
	if err != nil || !added {
		t.Fatalf("SaveTree = %v, %v", added, err)
	}
	// The id is the hash of the tree's JSON, like any blob.
	data, _ := json.Marshal(in)
	if id != Hash(data) {
		t.Errorf("tree id %s is not the hash of its JSON", id.Short())
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for name, repo := range map[string]*Repository{"same": r, "reopened": reopen(t, be)} {
		out, err := repo.LoadTree(ctx, id)
		if err != nil {
			t.Fatalf("%s: LoadTree: %v", name, err)
		}
		if !reflect.DeepEqual(out, in) {
			t.Errorf("%s: LoadTree =\n%+v\nwant\n%+v", name, out, in)
		}
		loc, _ := repo.Index().Lookup(id)
		if loc.Type != TreeBlob {
			t.Errorf("%s: tree indexed as %v", name, loc.Type)
		}
	}
}

func TestTreeContentAddressed(t *testing.T) {
	ctx := t.Context()
	blob := Hash([]byte("blob"))
	var ids []ID
	for range 2 { // two repositories, as two separate backups would
		r := newTestRepo(t, mem.New("t"), smallPacks)
		s := r.NewSaver(ctx)
		var sc Scratch
		a, added1, err1 := s.SaveTree(ctx, sampleTree(blob, blob), &sc)
		b, added2, err2 := s.SaveTree(ctx, sampleTree(blob, blob), &sc)
		if err1 != nil || err2 != nil || a != b || !added1 || added2 {
			t.Fatalf("identical trees: %s %v %v, %s %v %v", a.Short(), added1, err1, b.Short(), added2, err2)
		}
		st, err := s.Flush(ctx)
		if err != nil || st.BlobsAdded != 1 {
			t.Fatalf("Flush = %+v, %v; want one blob", st, err)
		}
		ids = append(ids, a)
	}
	if ids[0] != ids[1] {
		t.Error("identical trees got different ids in two repositories")
	}
	other := sampleTree(blob, blob)
	other.Entries[1].Size++
	data, _ := json.Marshal(other)
	if Hash(data) == ids[0] {
		t.Error("a changed tree has the same id")
	}
}

func TestTreeLoadErrors(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	s := r.NewSaver(ctx)
	var sc Scratch
	// A blob that is not tree JSON, stored as a tree.
	notJSON := []byte("this is not json")
	if _, err := s.Save(ctx, TreeBlob, Hash(notJSON), notJSON, &sc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.LoadTree(ctx, Hash(notJSON)); !errors.Is(err, ErrIntegrity) {
		t.Errorf("LoadTree of non-JSON = %v, want ErrIntegrity", err)
	}
	if _, err := r.LoadTree(ctx, Hash([]byte("missing"))); !errors.Is(err, ErrIntegrity) {
		t.Errorf("LoadTree of an unknown id = %v, want ErrIntegrity", err)
	}
}

// buildWalkTree stores
//
//	measure/             (dir)
//	measure/a/           (dir)
//	measure/a/b/         (dir)
//	measure/a/b/c        (file)
//	measure/a/b/d        (file)
//	measure/a/e          (file)
//	measure/f            (file)
//	measure/g/           (empty dir)
//	stream/              (empty dir)
func buildWalkTree(t *testing.T, s *Saver) ID {
	t.Helper()
	ctx := t.Context()
	var sc Scratch
	save := func(entries ...Node) ID {
		id, _, err := s.SaveTree(ctx, &Tree{Entries: entries}, &sc)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	file := func(name string) Node { return Node{Name: name, Type: NodeFile, Mode: 0o644} }
	dir := func(name string, sub ID) Node {
		return Node{Name: name, Type: NodeDir, Mode: fs.ModeDir | 0o755, Subtree: &sub}
	}
	b := save(file("c"), file("d"))
	a := save(dir("b", b), file("e"))
	g := save()
	m := save(dir("a", a), file("f"), dir("g", g))
	return save(dir("measure", m), dir("stream", g))
}

func TestWalk(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	s := r.NewSaver(ctx)
	root := buildWalkTree(t, s)
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r = reopen(t, be)
	var got []string
	err := r.Walk(ctx, root, func(path string, n *Node) error {
		got = append(got, path+":"+n.Type)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"measure:dir", "measure/a:dir", "measure/a/b:dir", "measure/a/b/c:file", "measure/a/b/d:file", "measure/a/e:file",
		"measure/f:file", "measure/g:dir", "stream:dir"}
	if !slices.Equal(got, want) {
		t.Errorf("Walk visited %v, want %v", got, want)
	}

	// An error from fn stops the walk and is returned as is.
	stop := errors.New("stop")
	var seen []string
	err = r.Walk(ctx, root, func(path string, n *Node) error {
		seen = append(seen, path)
		if path == "measure/a/b/c" {
			return stop
		}
		return nil
	})
	if err != stop || !slices.Equal(seen, []string{"measure", "measure/a", "measure/a/b", "measure/a/b/c"}) {
		t.Errorf("Walk with a stopping fn = %v after %v", err, seen)
	}

	// A cancelled context stops the walk.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := r.Walk(cctx, root, func(string, *Node) error { return nil }); err == nil {
		t.Error("Walk with a cancelled context succeeded")
	}
}

// TestTreesCompressedUpToAChunk: a tree is stored compressed when that
// pays, and raw when it is larger than a chunk (no reader decompresses a
// blob to more); both load back, also after the repository is reopened.
func TestTreesCompressedUpToAChunk(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks) // 16 KiB chunks
	s := r.NewSaver(ctx)
	var sc Scratch
	small := sampleTree(Hash([]byte("sub")), Hash([]byte("blob")))
	large := &Tree{}
	for i := range 200 {
		n := small.Entries[1]
		n.Name = fmt.Sprintf("file-%04d.bin", i)
		large.Entries = append(large.Entries, n)
	}
	if data, _ := json.Marshal(large); len(data) <= 16<<10 {
		t.Fatalf("the large tree is %d bytes, not over a chunk", len(data))
	}
	ids := map[string]ID{}
	for name, tree := range map[string]*Tree{"small": small, "large": large} {
		id, _, err := s.SaveTree(ctx, tree, &sc)
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = id
	}
	if _, err := s.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	r = reopen(t, be)
	for name, want := range map[string]bool{"small": true, "large": false} {
		loc, _ := r.Index().Lookup(ids[name])
		if loc.compressed() != want {
			t.Errorf("%s tree (%d bytes): compressed %v, want %v", name, loc.RawLength, loc.compressed(), want)
		}
		if _, err := r.LoadTree(ctx, ids[name]); err != nil {
			t.Errorf("%s tree: %v", name, err)
		}
	}
}
