package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// hostileRepo writes backups of its own making into a repository through
// the repository's code: data blobs, trees stored as they are given (not
// through SaveTree, which refuses what a backup never writes) and a
// manifest.
type hostileRepo struct {
	t     *testing.T
	loc   string
	repo  *repository.Repository
	saver *repository.Saver
	sc    repository.Scratch
}

func newHostileRepo(t *testing.T) *hostileRepo {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	repo, err := repository.Init(context.Background(), local.New(dir), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	h := &hostileRepo{t: t, loc: dir, repo: repo}
	h.saver = repo.NewSaver(context.Background())
	return h
}

// file stores data and returns a file node of that name holding it.
func (h *hostileRepo) file(name string, data []byte) repository.Node {
	h.t.Helper()
	id := repository.Hash(data)
	if _, err := h.saver.Save(context.Background(), repository.DataBlob, id, data, &h.sc); err != nil {
		h.t.Fatal(err)
	}
	return repository.Node{Name: name, Type: repository.NodeFile, Mode: 0o644, Size: int64(len(data)), ModTime: hostileTime, Blobs: []repository.ID{id}}
}

// dir stores a tree of the entries, as given, and returns a directory node
// of that name with it as subtree.
func (h *hostileRepo) dir(name string, entries ...repository.Node) repository.Node {
	h.t.Helper()
	id := h.tree(entries...)
	return repository.Node{Name: name, Type: repository.NodeDir, Mode: fs.ModeDir | 0o755, ModTime: hostileTime, Subtree: &id}
}

// tree stores a tree of the entries exactly as given.
func (h *hostileRepo) tree(entries ...repository.Node) repository.ID {
	h.t.Helper()
	if entries == nil {
		entries = []repository.Node{}
	}
	data, err := json.Marshal(repository.Tree{Entries: entries})
	if err != nil {
		h.t.Fatal(err)
	}
	id := repository.Hash(data)
	if _, err := h.saver.Save(context.Background(), repository.TreeBlob, id, data, &h.sc); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// commit stores a backup of the property catalog whose group "grp" holds
// the entries, and returns the backup's id.
func (h *hostileRepo) commit(entries ...repository.Node) string {
	h.t.Helper()
	return h.commitRoot(h.tree(h.dir("property", h.dir("grp", entries...))))
}

// commitRoot stores a backup with the given root tree; edit, if given,
// changes its manifest first.
func (h *hostileRepo) commitRoot(root repository.ID, edit ...func(*repository.Manifest)) string {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.saver.Flush(ctx); err != nil {
		h.t.Fatal(err)
	}
	m := &repository.Manifest{Format: repository.ManifestFormat, Time: hostileTime, Hostname: "red-team", ToolVersion: "0.0.0",
		Source: repository.Source{Type: "root", Roots: map[string]string{"property": "/var/lib/banyandb/property/data"}}, Catalogs: []string{"property"}, Tree: root}
	for _, e := range edit {
		e(m)
	}
	id, _, err := h.repo.SaveManifest(ctx, m)
	if err != nil {
		h.t.Fatal(err)
	}
	h.saver = h.repo.NewSaver(ctx)
	return id.String()
}

// runBounded is run, but kills the command after five minutes (a
// regression that walks a hostile repository's trees for ever must fail,
// not hang the suite; every case takes well under a second).
func runBounded(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache"))
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("banyan-backup %s did not finish in five minutes", strings.Join(args, " "))
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("cannot run %v: %v", args, err)
	}
	return result{so.String(), se.String(), code}
}

var hostileTime = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// snapshotDir lists every path below dir with its mode, size and content,
// to tell that nothing changed.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		what := info.Mode().String()
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			what += " " + string(data)
		}
		out[p] = what
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameSnapshot(t *testing.T, what string, before, after map[string]string) {
	t.Helper()
	for p, v := range after {
		if w, ok := before[p]; !ok {
			t.Errorf("%s created %s (%s)", what, p, v)
		} else if w != v {
			t.Errorf("%s changed %s: %q, was %q", what, p, v, w)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s removed %s", what, p)
		}
	}
}

// hostileCase is one attack: the backup it stores and the problem that
// verify and restore must name.
type hostileCase struct {
	name  string
	build func(h *hostileRepo, escape string) string // returns the backup id
	want  string
}

// hostileCases builds each attack below the property group "grp". escape
// is a relative name that, joined below grp in a staging directory, leads
// to the canary.
func hostileCases() []hostileCase {
	mode := func(n repository.Node, m fs.FileMode) repository.Node { n.Mode = m; return n }
	typ := func(n repository.Node, t string) repository.Node { n.Type = t; return n }
	size := func(n repository.Node, s int64) repository.Node { n.Size = s; return n }
	data := []byte("pwned by the red team\n")
	return []hostileCase{
		{"dot-dot-slash name", func(h *hostileRepo, escape string) string {
			return h.commit(h.file(escape, data))
		}, `property/grp: entry "../`},
		{"dot-dot name", func(h *hostileRepo, _ string) string {
			return h.commit(h.dir("..", h.file("canary", data)))
		}, `property/grp: entry "..": name is "." or ".."`},
		{"dot name", func(h *hostileRepo, _ string) string {
			return h.commit(h.file(".", data))
		}, `property/grp: entry ".": name is "." or ".."`},
		{"empty name", func(h *hostileRepo, _ string) string {
			return h.commit(h.file("", data))
		}, `property/grp: entry "": name is empty`},
		{"absolute name", func(h *hostileRepo, _ string) string {
			return h.commit(h.file("/tmp/canary", data))
		}, `property/grp: entry "/tmp/canary": name holds a path separator`},
		{"slash inside", func(h *hostileRepo, _ string) string {
			return h.commit(h.file("a/b", data))
		}, `property/grp: entry "a/b": name holds a path separator`},
		{"backslash inside", func(h *hostileRepo, _ string) string {
			return h.commit(h.file(`a\b`, data))
		}, `property/grp: entry "a\\b": name holds a path separator`},
		{"NUL inside", func(h *hostileRepo, _ string) string {
			return h.commit(h.file("a\x00b", data))
		}, `property/grp: entry "a\x00b": name holds a NUL byte`},
		{"duplicate names", func(h *hostileRepo, _ string) string {
			return h.commit(h.file("x", data), h.file("x", []byte("other")))
		}, `property/grp: entry "x": name appears twice`},
		{"unsorted names", func(h *hostileRepo, _ string) string {
			return h.commit(h.file("y", data), h.file("x", []byte("other")))
		}, `property/grp: entry "x": entries are not sorted by name`},
		{"wrong size", func(h *hostileRepo, _ string) string {
			return h.commit(size(h.file("f", data), 5))
		}, `property/grp: entry "f": size 5 is not the 22 bytes its blobs hold`},
		{"unknown type", func(h *hostileRepo, _ string) string {
			return h.commit(typ(h.file("f", data), "symlink"))
		}, `property/grp: entry "f": unknown type "symlink"`},
		{"setuid bit (octal)", func(h *hostileRepo, _ string) string {
			return h.commit(mode(h.file("f", data), 0o4777))
		}, `property/grp: entry "f": file mode 2559 has bits besides the permissions`},
		{"setuid bit", func(h *hostileRepo, _ string) string {
			return h.commit(mode(h.file("f", data), fs.ModeSetuid|0o755))
		}, `property/grp: entry "f": file mode 8389101 has bits besides the permissions`},
		{"directory mode on a file", func(h *hostileRepo, _ string) string {
			return h.commit(mode(h.file("f", data), fs.ModeDir|0o755))
		}, `property/grp: entry "f": file mode 2147484141 has bits besides the permissions`},
		{"setuid directory", func(h *hostileRepo, _ string) string {
			return h.commit(mode(h.dir("d"), fs.ModeDir|fs.ModeSetuid|0o755))
		}, `property/grp: entry "d": directory mode 2155872749 has bits besides the directory bit, setgid, sticky and the permissions`},
		{"directory without subtree", func(h *hostileRepo, _ string) string {
			d := h.dir("d")
			d.Subtree = nil
			return h.commit(d)
		}, `property/grp: entry "d": directory has no subtree`},
		{"file with a subtree", func(h *hostileRepo, _ string) string {
			f := h.file("f", data)
			f.Subtree = h.dir("d").Subtree
			return h.commit(f)
		}, `property/grp: entry "f": file has a subtree`},
		{"DAG of 2^40 paths", func(h *hostileRepo, _ string) string {
			// Each level's two directories share the level below: 40
			// levels, 2^40 paths, 42 trees.
			id := h.tree(h.file("f", data))
			for range 40 {
				a := repository.Node{Name: "a", Type: repository.NodeDir, Mode: fs.ModeDir | 0o755, Subtree: &id}
				b := a
				b.Name = "b"
				id = h.tree(a, b)
			}
			return h.commit(repository.Node{Name: "d", Type: repository.NodeDir, Mode: fs.ModeDir | 0o755, Subtree: &id})
		}, "the trees name more than 10000000 entries"},
		{"manifest catalog", func(h *hostileRepo, _ string) string {
			root := h.tree(h.dir("property", h.dir("grp", h.file("f", data))))
			return h.commitRoot(root, func(m *repository.Manifest) { m.Catalogs = []string{"../../etc"} })
		}, `manifest: catalogs: "../../etc" is not a catalog or is listed twice`},
		{"manifest lacking parts", func(h *hostileRepo, _ string) string {
			root := h.tree(h.dir("property", h.dir("grp", h.file("f", data))))
			return h.commitRoot(root, func(m *repository.Manifest) {
				m.LackingParts = []repository.LackingParts{{Catalog: "property", Group: "../..", Segment: "seg", Parts: []string{"0000000000000001"}}}
			})
		}, `manifest: lacking parts of "property/../../seg/shard-0": "../..": name holds a path separator`},
		{"root entry not a catalog", func(h *hostileRepo, _ string) string {
			return h.commitRoot(h.tree(h.dir("etc", h.file("passwd", data))))
		}, `entry "etc": the root tree holds only catalog directories`},
	}
}

// TestHostileRepository stores each attack in a repository and checks
// that verify (with and without --read-data) fails with exit 3 naming it,
// and that restore, dry-run or not, refuses it with the same words and
// writes nothing: not outside the target (a canary beside it is
// unchanged) and not inside.
func TestHostileRepository(t *testing.T) {
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			h := newHostileRepo(t)
			base := t.TempDir()
			canary := filepath.Join(base, "canary")
			if err := os.WriteFile(canary, []byte("canary\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(base, "a", "target")
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				t.Fatal(err)
			}
			// Staged at base/a/target/.banyan-restore/property/data/grp/NAME:
			// six levels up from grp is base.
			escape := strings.Repeat("../", 6) + "canary"
			id := c.build(h, escape)
			before := snapshotDir(t, base)
			for _, args := range [][]string{
				{"verify"}, {"verify", "--read-data"}, {"verify", id[:8]},
				{"restore", id[:8], "--target", target, "--dry-run"},
				{"restore", id[:8], "--target", target},
			} {
				r := runBounded(t, append(args, "--repo", h.loc)...)
				out := r.stdout + r.stderr
				if r.code != exitIntegrity || !strings.Contains(out, c.want) || !strings.Contains(out, id[:8]) {
					t.Errorf("%s: exit %d, want %d with %q naming backup %s\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, exitIntegrity, c.want, id[:8], r.stdout, r.stderr)
				}
				sameSnapshot(t, strings.Join(args, " "), before, snapshotDir(t, base))
			}
		})
	}
}
