package repository

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// treeWriter stores trees exactly as given (SaveTree refuses invalid
// ones), as a hostile repository would hold them.
type treeWriter struct {
	t  *testing.T
	r  *Repository
	s  *Saver
	sc Scratch
}

func newTreeWriter(t *testing.T) *treeWriter {
	r := newTestRepo(t, mem.New("hostile"), smallPacks)
	return &treeWriter{t: t, r: r, s: r.NewSaver(t.Context())}
}

func (w *treeWriter) tree(entries ...Node) ID {
	w.t.Helper()
	if entries == nil {
		entries = []Node{}
	}
	data, err := json.Marshal(Tree{Entries: entries})
	if err != nil {
		w.t.Fatal(err)
	}
	id := Hash(data)
	if _, err := w.s.Save(w.t.Context(), TreeBlob, id, data, &w.sc); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *treeWriter) file(name string, data []byte) Node {
	w.t.Helper()
	id := Hash(data)
	if _, err := w.s.Save(w.t.Context(), DataBlob, id, data, &w.sc); err != nil {
		w.t.Fatal(err)
	}
	return Node{Name: name, Type: NodeFile, Mode: 0o644, Size: int64(len(data)), Blobs: []ID{id}}
}

func dirNode(name string, sub ID) Node {
	return Node{Name: name, Type: NodeDir, Mode: fs.ModeDir | 0o755, Subtree: &sub}
}

// backup stores a backup whose root holds measure/ with the entries, and
// returns it.
func (w *treeWriter) backup(entries ...Node) Backup {
	w.t.Helper()
	return w.backupOf(w.tree(dirNode("measure", w.tree(entries...))))
}

func (w *treeWriter) backupOf(root ID) Backup {
	w.t.Helper()
	if _, err := w.s.Flush(w.t.Context()); err != nil {
		w.t.Fatal(err)
	}
	m := sampleManifest(1)
	m.Tree = root
	id, _, err := w.r.SaveManifest(w.t.Context(), m)
	if err != nil {
		w.t.Fatal(err)
	}
	w.s = w.r.NewSaver(w.t.Context())
	return Backup{ID: id, Manifest: m}
}

// walkAll walks b and returns the paths fn saw.
func walkAll(t *testing.T, r *Repository, b Backup) ([]string, error) {
	var seen []string
	err := r.Walk(t.Context(), b.Tree, func(p string, _ *Node) error {
		seen = append(seen, p)
		return nil
	})
	return seen, err
}

func TestCheckName(t *testing.T) {
	for _, name := range []string{"measure", "seg-20261119", "0000000000000001", "a b", ".snp", "..x", "x..", "é"} {
		if err := CheckName(name); err != nil {
			t.Errorf("CheckName(%q) = %v, want nil", name, err)
		}
	}
	for name, want := range map[string]string{
		"": "name is empty", ".": `name is "." or ".."`, "..": `name is "." or ".."`,
		"a/b": "name holds a path separator", "/etc": "name holds a path separator", "../x": "name holds a path separator",
		`a\b`: "name holds a path separator", `..\x`: "name holds a path separator", "a\x00b": "name holds a NUL byte",
	} {
		if err := CheckName(name); err == nil || err.Error() != want {
			t.Errorf("CheckName(%q) = %v, want %q", name, err, want)
		}
	}
}

func TestCatalogNamesAreBanyanDBs(t *testing.T) {
	for _, c := range banyandb.AllCatalogs() {
		if !IsCatalogName(string(c)) {
			t.Errorf("IsCatalogName(%q) = false", c)
		}
	}
	for _, s := range []string{"", "data", "Measure", "../measure", "snapshots"} {
		if IsCatalogName(s) {
			t.Errorf("IsCatalogName(%q) = true", s)
		}
	}
}

// TestWalkRefusesInvalidTrees: every rule of repository-format.md, "Valid
// trees", broken once. Walk fails with a *TreeError naming the directory
// and the entry before fn sees anything, and Verify reports the same
// problem for the backup.
func TestWalkRefusesInvalidTrees(t *testing.T) {
	data := []byte("some bytes")
	with := func(n Node, f func(*Node)) Node { f(&n); return n }
	cases := []struct {
		name    string
		entries func(w *treeWriter) []Node
		dir     string
		problem string
	}{
		{"dot-dot", func(w *treeWriter) []Node { return []Node{w.file("..", data)} }, "measure", `entry "..": name is "." or ".."`},
		{"escape", func(w *treeWriter) []Node { return []Node{w.file("../../etc/passwd", data)} }, "measure", `entry "../../etc/passwd": name holds a path separator`},
		{"nested", func(w *treeWriter) []Node {
			return []Node{dirNode("grp", w.tree(dirNode("seg", w.tree(w.file("/abs", data)))))}
		}, "measure/grp/seg", `entry "/abs": name holds a path separator`},
		{"duplicate", func(w *treeWriter) []Node { return []Node{w.file("f", data), w.file("f", data)} }, "measure", `entry "f": name appears twice`},
		{"unsorted", func(w *treeWriter) []Node { return []Node{w.file("g", data), w.file("f", data)} }, "measure", `entry "f": entries are not sorted by name`},
		{"symlink type", func(w *treeWriter) []Node {
			return []Node{with(w.file("f", data), func(n *Node) { n.Type = "symlink" })}
		}, "measure", `entry "f": unknown type "symlink"`},
		{"size", func(w *treeWriter) []Node {
			return []Node{with(w.file("f", data), func(n *Node) { n.Size = 1 << 40 })}
		}, "measure", `entry "f": size 1099511627776 is not the 10 bytes its blobs hold`},
		{"negative size", func(w *treeWriter) []Node {
			return []Node{with(w.file("f", nil), func(n *Node) { n.Size = -1 })}
		}, "measure", `entry "f": size -1 is negative`},
		{"setuid file", func(w *treeWriter) []Node {
			return []Node{with(w.file("f", data), func(n *Node) { n.Mode = fs.ModeSetuid | 0o755 })}
		}, "measure", `entry "f": file mode 8389101 has bits besides the permissions`},
		{"setgid file", func(w *treeWriter) []Node {
			return []Node{with(w.file("f", data), func(n *Node) { n.Mode = fs.ModeSetgid | 0o755 })}
		}, "measure", `entry "f": file mode 4194797 has bits besides the permissions`},
		{"unix setuid bits", func(w *treeWriter) []Node {
			return []Node{with(w.file("f", data), func(n *Node) { n.Mode = 0o4777 })}
		}, "measure", `entry "f": file mode 2559 has bits besides the permissions`},
		{"dir as a file's mode", func(w *treeWriter) []Node {
			return []Node{with(w.file("f", data), func(n *Node) { n.Mode = fs.ModeDir | 0o755 })}
		}, "measure", `entry "f": file mode 2147484141 has bits besides the permissions`},
		{"symlink mode on a file", func(w *treeWriter) []Node {
			return []Node{with(w.file("f", data), func(n *Node) { n.Mode = fs.ModeSymlink | 0o777 })}
		}, "measure", `entry "f": file mode 134218239 has bits besides the permissions`},
		{"directory without the directory bit", func(w *treeWriter) []Node {
			return []Node{with(dirNode("d", w.tree()), func(n *Node) { n.Mode = 0o755 })}
		}, "measure", `entry "d": directory mode 493 has bits besides the directory bit, setgid, sticky and the permissions`},
		{"setuid directory", func(w *treeWriter) []Node {
			return []Node{with(dirNode("d", w.tree()), func(n *Node) { n.Mode |= fs.ModeSetuid })}
		}, "measure", `entry "d": directory mode 2155872749 has bits`},
		{"directory with blobs", func(w *treeWriter) []Node {
			return []Node{with(dirNode("d", w.tree()), func(n *Node) { n.Blobs = []ID{Hash(data)} })}
		}, "measure", `entry "d": directory has blobs`},
		{"directory without subtree", func(w *treeWriter) []Node {
			return []Node{with(dirNode("d", w.tree()), func(n *Node) { n.Subtree = nil })}
		}, "measure", `entry "d": directory has no subtree`},
		{"file with subtree", func(w *treeWriter) []Node {
			sub := w.tree()
			return []Node{with(w.file("f", data), func(n *Node) { n.Subtree = &sub })}
		}, "measure", `entry "f": file has a subtree`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newTreeWriter(t)
			b := w.backup(c.entries(w)...)
			r := reopen(t, w.r.Backend())
			seen, err := walkAll(t, r, b)
			var te *TreeError
			if !errors.As(err, &te) || !errors.Is(err, ErrIntegrity) || te.Dir != c.dir || !strings.HasPrefix(te.Problem, c.problem) {
				t.Fatalf("Walk = %v, want a TreeError at %q: %s", err, c.dir, c.problem)
			}
			if len(seen) > 0 {
				t.Errorf("Walk showed fn %v before it failed", seen)
			}
			res, err := r.Verify(t.Context(), VerifyOptions{ReadData: true})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Problems) != 1 || res.Problems[0].Backup != b.ID.String() || res.Problems[0].Path != c.dir || !strings.HasPrefix(res.Problems[0].Error, c.problem) {
				t.Errorf("Verify found %v, want one problem of backup %s at %q: %s", res.Problems, b.ID.Short(), c.dir, c.problem)
			}
		})
	}
}

func TestWalkRefusesRootEntriesOtherThanCatalogs(t *testing.T) {
	for name, root := range map[string]func(w *treeWriter) ID{
		"unknown name": func(w *treeWriter) ID { return w.tree(dirNode("etc", w.tree())) },
		"catalog file": func(w *treeWriter) ID { return w.tree(w.file("measure", []byte("x"))) },
	} {
		t.Run(name, func(t *testing.T) {
			w := newTreeWriter(t)
			b := w.backupOf(root(w))
			_, err := walkAll(t, w.r, b)
			var te *TreeError
			if !errors.As(err, &te) || te.Dir != "" || !strings.HasSuffix(te.Problem, "the root tree holds only catalog directories") {
				t.Fatalf("Walk = %v, want a TreeError about the root tree", err)
			}
		})
	}
}

// TestSharedSubtreesAreValid: a backup legitimately names one subtree
// twice (two empty directories have the same tree; so do two copies of a
// part made with hard links): Walk visits it under each name, each time
// as stored (what fn does to a node of one visit, the next never sees).
func TestSharedSubtreesAreValid(t *testing.T) {
	w := newTreeWriter(t)
	empty := w.tree()
	part := w.tree(w.file("data.bin", []byte("part data")), w.file("metadata.json", []byte("{}")))
	b := w.backup(dirNode("a", empty), dirNode("b", empty), dirNode("p1", part), dirNode("p2", part))
	var seen []string
	err := w.r.Walk(t.Context(), b.Tree, func(p string, n *Node) error {
		seen = append(seen, p)
		n.Name = "changed"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"measure", "measure/a", "measure/b", "measure/p1", "measure/p1/data.bin", "measure/p1/metadata.json",
		"measure/p2", "measure/p2/data.bin", "measure/p2/metadata.json"}
	if !slices.Equal(seen, want) {
		t.Errorf("Walk saw %v, want %v", seen, want)
	}
	if res, err := w.r.Verify(t.Context(), VerifyOptions{ReadData: true}); err != nil || len(res.Problems) > 0 {
		t.Errorf("Verify: %v %v", err, res.Problems)
	}
}

// chain stores dirs nested directories d/d/.../d holding one file, and
// returns the outermost tree.
func (w *treeWriter) chain(dirs int) ID {
	id := w.tree(w.file("f", []byte("leaf")))
	for range dirs {
		id = w.tree(dirNode("d", id))
	}
	return id
}

// TestTreeDepthLimit: entries may lie MaxTreeDepth deep, not deeper. The
// catalog is at depth 1, so a chain of MaxTreeDepth-2 directories below
// it puts the file at MaxTreeDepth.
func TestTreeDepthLimit(t *testing.T) {
	w := newTreeWriter(t)
	ok := w.backupOf(w.tree(dirNode("measure", w.chain(MaxTreeDepth-2))))
	seen, err := walkAll(t, w.r, ok)
	if err != nil || strings.Count(seen[len(seen)-1], "/")+1 != MaxTreeDepth {
		t.Fatalf("a file at depth %d: %v (deepest %q)", MaxTreeDepth, err, seen[len(seen)-1])
	}
	deep := w.backupOf(w.tree(dirNode("measure", w.chain(MaxTreeDepth-1))))
	seen, err = walkAll(t, w.r, deep)
	var te *TreeError
	if !errors.As(err, &te) || te.Problem != fmt.Sprintf("directories nest more than %d levels deep", MaxTreeDepth) || len(seen) > 0 {
		t.Fatalf("a file at depth %d: %v after %d entries, want a TreeError", MaxTreeDepth+1, err, len(seen))
	}
}

// TestTreeNodeLimit: trees that name one subtree twice per level (40
// levels, 2^40 paths in 42 stored trees) are refused at once, before fn
// sees anything, by Walk and Verify alike; so are 2^24 paths, just over
// MaxTreeNodes.
func TestTreeNodeLimit(t *testing.T) {
	for _, levels := range []int{24, 40} {
		t.Run(fmt.Sprint(levels), func(t *testing.T) {
			w := newTreeWriter(t)
			id := w.tree(w.file("f", []byte("leaf")))
			for range levels {
				id = w.tree(dirNode("a", id), dirNode("b", id))
			}
			b := w.backupOf(w.tree(dirNode("measure", id)))
			seen, err := walkAll(t, w.r, b)
			var te *TreeError
			want := fmt.Sprintf("the trees name more than %d entries", MaxTreeNodes)
			if !errors.As(err, &te) || !strings.HasPrefix(te.Problem, want) || len(seen) > 0 {
				t.Fatalf("Walk = %v after %d entries, want %q", err, len(seen), want)
			}
			res, err := w.r.Verify(t.Context(), VerifyOptions{})
			if err != nil || len(res.Problems) != 1 || !strings.HasPrefix(res.Problems[0].Error, want) {
				t.Fatalf("Verify = %v, %v", res, err)
			}
		})
	}
}

// TestWalkChecksTreesTheFirstPassMissed: a tree the first pass could not
// load (a transient read error) is checked when the walk loads it.
func TestWalkChecksTreesTheFirstPassMissed(t *testing.T) {
	w := newTreeWriter(t)
	bad := w.tree(w.file("..", []byte("x")))
	b := w.backup(dirNode("d", bad))
	// A check whose first pass loaded only the root tree.
	c := newTreeCheck(w.r)
	c.seen[b.Tree] = treeStats{nodes: 1, height: 3}
	var visited int64
	err := w.r.walk(t.Context(), c, b.Tree, "", 0, &visited, func(string, *Node) error { return nil })
	var te *TreeError
	if !errors.As(err, &te) || te.Dir != "measure/d" {
		t.Fatalf("walk = %v, want a TreeError at measure/d", err)
	}
}

func TestSaveTreeRefusesInvalidTrees(t *testing.T) {
	w := newTreeWriter(t)
	for _, entries := range [][]Node{
		{{Name: "..", Type: NodeFile, Mode: 0o644}},
		{{Name: "b", Type: NodeFile, Mode: 0o644}, {Name: "a", Type: NodeFile, Mode: 0o644}},
		{{Name: "f", Type: "symlink", Mode: 0o644}},
		{{Name: "f", Type: NodeFile, Mode: fs.ModeSetuid | 0o755}},
	} {
		if _, _, err := w.s.SaveTree(t.Context(), &Tree{Entries: entries}, &w.sc); err == nil {
			t.Errorf("SaveTree stored %v", entries)
		}
	}
}

func TestCheckManifest(t *testing.T) {
	if err := CheckManifest(sampleManifest(1)); err != nil {
		t.Fatalf("a valid manifest: %v", err)
	}
	for want, edit := range map[string]func(m *Manifest){
		"manifest: names no root tree":                                           func(m *Manifest) { m.Tree = ID{} },
		`manifest: catalogs: "../x" is not a catalog or is listed twice`:         func(m *Manifest) { m.Catalogs = []string{"../x"} },
		`manifest: catalogs: "measure" is not a catalog or is listed twice`:      func(m *Manifest) { m.Catalogs = []string{"measure", "measure"} },
		`manifest: source roots: "etc" is not a catalog`:                         func(m *Manifest) { m.Source.Roots["etc"] = "/etc" },
		`manifest: segment "measure/../seg-20261119": "..": name is "." or ".."`: func(m *Manifest) { m.Segments[0].Group = ".." },
		`manifest: lacking parts of "measure/g/s/shard-0": "../p": name holds a path separator`: func(m *Manifest) {
			m.LackingParts = []LackingParts{{Catalog: "measure", Group: "g", Segment: "s", Parts: []string{"../p"}}}
		},
		`manifest: lacking parts of "measure/g/s/shard--1": shard -1 is negative`: func(m *Manifest) {
			m.LackingParts = []LackingParts{{Catalog: "measure", Group: "g", Segment: "s", Shard: -1}}
		},
	} {
		m := sampleManifest(1)
		edit(m)
		err := CheckManifest(m)
		if !errors.Is(err, ErrIntegrity) || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("CheckManifest = %v, want %q", err, want)
		}
	}
}

// TestWalkSameWhateverThePreloadHolds: the walk visits the same paths in
// the same order whether the check decoded every tree ahead, some of them
// (its budget ran out part-way down) or none, and a tree missing below a
// preloaded one is reported where it is used.
func TestWalkSameWhateverThePreloadHolds(t *testing.T) {
	w := newTreeWriter(t)
	var shards []Node
	for s := range 3 {
		var parts []Node
		for p := range 4 {
			part := w.tree(w.file("data.bin", []byte(fmt.Sprint(s, p))), w.file("metadata.json", []byte("{}")))
			parts = append(parts, dirNode(fmt.Sprintf("%016d", p+1), part))
		}
		shards = append(shards, dirNode(fmt.Sprintf("shard-%d", s), w.tree(parts...)))
	}
	b := w.backup(dirNode("g", w.tree(dirNode("seg-20261119", w.tree(shards...)))))
	walk := func(budget int64) []string {
		t.Helper()
		c := newTreeCheck(w.r)
		c.preloadBytes = budget
		if err := c.backup(t.Context(), b.Tree); err != nil {
			t.Fatalf("budget %d: check: %v", budget, err)
		}
		var seen []string
		var visited int64
		err := w.r.walk(t.Context(), c, b.Tree, "", 0, &visited, func(p string, _ *Node) error {
			seen = append(seen, p)
			return nil
		})
		if err != nil {
			t.Fatalf("budget %d: walk: %v", budget, err)
		}
		return seen
	}
	want := walk(0)
	if len(want) != 1+1+1+3+3*4+3*4*2 {
		t.Fatalf("walked %d paths: %q", len(want), want)
	}
	for _, budget := range []int64{1, 600, 2000, 5000, treeCacheBytes} {
		if got := walk(budget); !slices.Equal(got, want) {
			t.Errorf("budget %d: walked %q, want %q", budget, got, want)
		}
	}
	// The preload keeps to its budget; the middle ones stop it part-way
	// (the backup has 19 trees).
	for _, budget := range []int64{600, 2000, 5000, treeCacheBytes} {
		c := newTreeCheck(w.r)
		c.preloadBytes = budget
		c.preload(t.Context(), b.Tree)
		var size int64
		for id := range c.loaded {
			n, _ := c.sizeOf(id)
			size += n
		}
		if size > budget || len(c.loaded) == 0 || (budget < treeCacheBytes) != (len(c.loaded) < 19) {
			t.Errorf("budget %d: preloaded %d trees of %d bytes", budget, len(c.loaded), size)
		}
	}

	missing := w.backup(dirNode("g", w.tree(dirNode("seg-20261119", ID{1}))))
	c := newTreeCheck(w.r)
	if err := c.backup(t.Context(), missing.Tree); err != nil {
		t.Fatalf("check of a backup missing a tree: %v", err)
	}
	var visited int64
	err := w.r.walk(t.Context(), c, missing.Tree, "", 0, &visited, func(string, *Node) error { return nil })
	if err == nil || !strings.Contains(err.Error(), ID{1}.Short()) {
		t.Fatalf("walk of a backup missing a tree = %v, want an error naming it", err)
	}
}
