package backup

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

// A snapshot's index copy stands for the parent's only when its live file
// is the same (inode, size, time), and the copy has the parent's size and
// last bytes; anything else is read.
func TestSameCopyGuards(t *testing.T) {
	live, snap := t.TempDir(), t.TempDir()
	rel := "g/seg-20261120/shard-0/idx/000000000001.seg"
	for _, dir := range []string{live, snap} {
		if err := os.MkdirAll(filepath.Join(dir, "stream", "data", filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(dir, content string) {
		if err := os.WriteFile(filepath.Join(dir, "stream", "data", rel), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(live, "index bytes, live checksum AAAA")
	write(snap, "index bytes, live checksum BBBB")
	liveRoots, snapRoots := banyandb.Roots{Root: live}, banyandb.Roots{Root: snap}
	f := &banyandb.File{Catalog: banyandb.Stream, Path: rel, Kind: banyandb.KindIndex, Size: 31}
	o := originOf(&liveRoots, snapRoots, f)
	if o == nil || string(o.Tail) != "index bytes, live checksum BBBB" {
		t.Fatalf("origin %+v", o)
	}
	repo, err := repository.Init(t.Context(), mem.New("t"), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	parent := &repository.Node{Size: 31, Origin: o}
	if !sameCopy(f, o, parent, repo) {
		t.Error("the same copy of the same live file is not reused")
	}
	if originOf(nil, snapRoots, f) != nil {
		t.Error("an offline backup has origins")
	}
	part := *f
	part.Part, part.Kind = "0000000000000001", banyandb.KindPart
	if originOf(&liveRoots, snapRoots, &part) != nil {
		t.Error("a part file has an origin")
	}

	write(snap, "index bytes, live checksum CCCC") // the node writes the copy otherwise
	if sameCopy(f, originOf(&liveRoots, snapRoots, f), parent, repo) {
		t.Error("a copy with other last bytes is reused")
	}
	write(snap, "index bytes, live checksum BBBB")
	write(live, "index bytes, live checksum AAAAA") // the live file changed
	g := *f
	if sameCopy(&g, originOf(&liveRoots, snapRoots, &g), parent, repo) {
		t.Error("the copy of a changed live file is reused")
	}
	if err := os.Remove(filepath.Join(live, "stream", "data", rel)); err != nil {
		t.Fatal(err)
	}
	if originOf(&liveRoots, snapRoots, f) != nil {
		t.Error("a copy whose live file is gone has an origin")
	}
}
