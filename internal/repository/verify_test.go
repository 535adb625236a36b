package repository

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// verifyFixture is a repository with two backups:
//
//	backup 1: measure/f1 (blob A), measure/f2 (blob B)
//	backup 2: measure/f1 (blob A), stream/g (blob C)
//
// Backup 1's saver stores pack P1 = [A, B] and tree pack T1; backup 2's
// stores P2 = [C] and tree pack T2.
type verifyFixture struct {
	be             storage.Backend
	b1, b2         ID
	a, b, c        ID
	p1, p2, t1, t2 ID
	root1, root2   ID
}

func newVerifyFixture(t *testing.T) *verifyFixture {
	t.Helper()
	ctx := t.Context()
	f := &verifyFixture{be: mem.New("verify")}
	r := newTestRepo(t, f.be, InitOptions{PackSize: 1 << 20, ChunkSize: 64 << 10})
	blobs := [][]byte{randBlob(1, 40<<10), randBlob(2, 30<<10), randBlob(3, 20<<10)}
	f.a, f.b, f.c = Hash(blobs[0]), Hash(blobs[1]), Hash(blobs[2])
	file := func(name string, blob []byte) Node {
		return Node{Name: name, Type: NodeFile, Mode: 0o644, Size: int64(len(blob)), Blobs: []ID{Hash(blob)}}
	}
	dir := func(name string, sub ID) Node {
		return Node{Name: name, Type: NodeDir, Mode: fs.ModeDir | 0o755, Subtree: &sub}
	}
	backup := func(i int, data [][]byte, catalogs map[string][]Node) (ID, ID) {
		s := r.NewSaver(ctx)
		var sc Scratch
		for _, b := range data {
			if _, err := s.Save(ctx, DataBlob, Hash(b), b, &sc); err != nil {
				t.Fatal(err)
			}
		}
		var root Tree
		for _, cat := range []string{"measure", "stream"} {
			if entries, ok := catalogs[cat]; ok {
				sub, _, err := s.SaveTree(ctx, &Tree{Entries: entries}, &sc)
				if err != nil {
					t.Fatal(err)
				}
				root.Entries = append(root.Entries, dir(cat, sub))
			}
		}
		rootID, _, err := s.SaveTree(ctx, &root, &sc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		m := sampleManifest(i)
		m.Tree = rootID
		id, _, err := r.SaveManifest(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return id, rootID
	}
	f.b1, f.root1 = backup(1, blobs[:2], map[string][]Node{"measure": {file("f1", blobs[0]), file("f2", blobs[1])}})
	f.b2, f.root2 = backup(2, blobs, map[string][]Node{"measure": {file("f1", blobs[0])}, "stream": {file("g", blobs[2])}})
	pack := func(id ID) ID {
		loc, ok := r.Index().Lookup(id)
		if !ok {
			t.Fatalf("blob %s not indexed", id.Short())
		}
		return loc.Pack
	}
	f.p1, f.p2, f.t1, f.t2 = pack(f.a), pack(f.c), pack(f.root1), pack(f.root2)
	if pack(f.b) != f.p1 || len(objects(t, f.be, "data/")) != 4 || f.t1 == f.t2 || f.p1 == f.p2 {
		t.Fatal("fixture does not have the expected pack layout")
	}
	return f
}

// verify opens the repository afresh and verifies it.
func (f *verifyFixture) verify(t *testing.T, opts VerifyOptions) *VerifyResult {
	t.Helper()
	res, err := reopen(t, f.be).Verify(t.Context(), opts)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return res
}

// where lists "backup:path" of every problem, sorted, with backups named 1 and 2.
func (f *verifyFixture) where(res *VerifyResult) []string {
	var out []string
	for _, p := range res.Problems {
		b := p.Backup
		switch p.Backup {
		case f.b1.String():
			b = "1"
		case f.b2.String():
			b = "2"
		}
		out = append(out, b+":"+p.Path)
	}
	slices.Sort(out)
	return out
}

func TestVerifyHealthy(t *testing.T) {
	f := newVerifyFixture(t)
	for _, readData := range []bool{false, true} {
		t.Run(fmt.Sprintf("ReadData=%v", readData), func(t *testing.T) {
			res := f.verify(t, VerifyOptions{ReadData: readData})
			if len(res.Problems) != 0 {
				t.Fatalf("problems in a healthy repository: %v", res.Problems)
			}
			// 3 data blobs; trees: root1, measure1, root2, measure2, stream2.
			if res.Backups != 2 || res.Files != 4 || res.Blobs != 8 || res.Packs != 4 {
				t.Errorf("result %+v, want 2 backups, 4 files, 8 blobs, 4 packs", res)
			}
			wantRead := 0
			if readData {
				wantRead = 4
			}
			if res.PacksRead != wantRead {
				t.Errorf("read %d packs, want %d", res.PacksRead, wantRead)
			}
		})
	}
}

// TestVerifyMissingDataPack removes or truncates a data pack: Verify must
// name every file of every backup that uses it, with or without ReadData
// (the check that packs exist with the indexed size needs no data read).
func TestVerifyMissingDataPack(t *testing.T) {
	tests := []struct {
		pack string
		want []string
	}{
		{"P1", []string{"1:measure/f1", "1:measure/f2", "2:measure/f1"}},
		{"P2", []string{"2:stream/g"}},
	}
	for _, tt := range tests {
		for _, damage := range []string{"delete", "truncate"} {
			for _, readData := range []bool{false, true} {
				t.Run(fmt.Sprintf("%s/%s/ReadData=%v", tt.pack, damage, readData), func(t *testing.T) {
					f := newVerifyFixture(t)
					pack := map[string]ID{"P1": f.p1, "P2": f.p2}[tt.pack]
					name := packName(pack)
					wantErr := "missing"
					if damage == "delete" {
						if err := f.be.Delete(t.Context(), name); err != nil {
							t.Fatal(err)
						}
					} else {
						data := getObject(t, f.be, name)
						putObject(t, f.be, name, data[:len(data)-1])
						wantErr = "bytes"
					}
					res := f.verify(t, VerifyOptions{ReadData: readData})
					if got := f.where(res); !slices.Equal(got, tt.want) {
						t.Fatalf("problems at %v, want %v\n%v", got, tt.want, res.Problems)
					}
					for _, p := range res.Problems {
						if p.Pack != pack.String() || !strings.Contains(p.Error, wantErr) {
							t.Errorf("problem %+v does not name pack %s and say %q", p, pack.Short(), wantErr)
						}
					}
				})
			}
		}
	}
}

func TestVerifySelectedBackups(t *testing.T) {
	f := newVerifyFixture(t)
	if err := f.be.Delete(t.Context(), packName(f.p2)); err != nil {
		t.Fatal(err)
	}
	r := reopen(t, f.be)
	b1, err := r.FindBackup(t.Context(), f.b1.String())
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Verify(t.Context(), VerifyOptions{Backups: []Backup{b1}, ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Backups != 1 || len(res.Problems) != 0 {
		t.Errorf("verifying backup 1 only (which does not use P2): %+v", res)
	}
}

func TestVerifyDamagedDataBlob(t *testing.T) {
	tests := []struct {
		blob string
		want []string
	}{
		{"B", []string{"1:measure/f2"}},
		{"C", []string{"2:stream/g"}},
		{"A", []string{"1:measure/f1", "2:measure/f1"}},
	}
	for _, tt := range tests {
		t.Run(tt.blob, func(t *testing.T) {
			f := newVerifyFixture(t)
			id := map[string]ID{"A": f.a, "B": f.b, "C": f.c}[tt.blob]
			loc, _ := reopen(t, f.be).Index().Lookup(id)
			flipByte(t, f.be, packName(loc.Pack), int(loc.Offset)+int(loc.Length)/2)
			res := f.verify(t, VerifyOptions{ReadData: true})
			if got := f.where(res); !slices.Equal(got, tt.want) {
				t.Fatalf("problems at %v, want %v\n%v", got, tt.want, res.Problems)
			}
			for _, p := range res.Problems {
				if p.Blob != id.String() {
					t.Errorf("problem %+v does not name blob %s", p, id.Short())
				}
			}
		})
	}
}

func TestVerifyDamagedPackHeader(t *testing.T) {
	for _, off := range []int{5, 6, 7} {
		t.Run(fmt.Sprint(off), func(t *testing.T) {
			f := newVerifyFixture(t)
			flipByte(t, f.be, packName(f.p1), off)
			res := f.verify(t, VerifyOptions{ReadData: true})
			want := []string{"1:measure/f1", "1:measure/f2", "2:measure/f1"}
			if got := f.where(res); !slices.Equal(got, want) {
				t.Fatalf("problems at %v, want %v\n%v", got, want, res.Problems)
			}
			for _, p := range res.Problems {
				if p.Pack != f.p1.String() {
					t.Errorf("problem %+v does not name pack %s", p, f.p1.Short())
				}
			}
		})
	}
}

func TestVerifyDamagedTree(t *testing.T) {
	for _, readData := range []bool{false, true} {
		for _, damage := range []string{"flip", "delete"} {
			t.Run(fmt.Sprintf("%s/ReadData=%v", damage, readData), func(t *testing.T) {
				f := newVerifyFixture(t)
				if damage == "delete" {
					if err := f.be.Delete(t.Context(), packName(f.t2)); err != nil {
						t.Fatal(err)
					}
				} else {
					loc, _ := reopen(t, f.be).Index().Lookup(f.root2)
					flipByte(t, f.be, packName(f.t2), int(loc.Offset)+int(loc.Length)/2)
				}
				res := f.verify(t, VerifyOptions{ReadData: readData})
				if len(res.Problems) == 0 {
					t.Fatal("no problem reported for a damaged tree")
				}
				for _, p := range res.Problems {
					if p.Backup != f.b2.String() {
						t.Errorf("problem %+v names another backup than 2 (%s)", p, f.b2.Short())
					}
					if !strings.Contains(p.String(), f.b2.Short()) {
						t.Errorf("problem text %q does not name backup %s", p, f.b2.Short())
					}
				}
			})
		}
	}
}

func TestProblemString(t *testing.T) {
	b := Hash([]byte("b")).String()
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Backup: b, Path: "measure/f1", Error: "pack is missing"}, "backup " + b[:8] + ": measure/f1: pack is missing"},
		{Problem{Backup: b, Error: "tree damaged"}, "backup " + b[:8] + ": tree damaged"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}
