package banyandb_test

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// TestCheckBoundsMetadataReads: a 1 GiB (sparse) metadata file, of a part,
// a segment or a shard's part list, is reported by check without being
// read: check allocates far less than the file's size.
func TestCheckBoundsMetadataReads(t *testing.T) {
	const huge = 1 << 30
	cases := []struct {
		name, file, want string
	}{
		{"part metadata.json", mPart + "/metadata.json", "part 0000000000000001 has no valid metadata.json (cannot read "},
		{"segment metadata", mSeg + "/metadata", "cannot read segment metadata (cannot read "},
		{"part list", mShard + "/" + mSnp, "part list " + mSnp + " cannot be loaded (cannot read "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
			if err := os.Truncate(filepath.Join(root, c.file), huge); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			r := checkRoot(t, root)
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Errorf("check allocated %d MiB for a root with a 1 GiB metadata file", alloc>>20)
			}
			found := false
			for _, i := range r.Issues {
				if strings.Contains(i.Message, c.want) && strings.Contains(i.Message, "it holds 1073741824 bytes, more than the 1048576 (1 MiB) that any metadata file holds") {
					found = true
				}
			}
			if !found {
				for _, i := range r.Issues {
					t.Log(i.String())
				}
				t.Errorf("no issue says %q and that the file is too large", c.want)
			}
		})
	}
}

func TestReadMetadataFile(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok")
	if err := os.WriteFile(ok, []byte(strings.Repeat("x", banyandb.MaxMetadataSize)), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := banyandb.ReadMetadataFile(ok); err != nil || len(b) != banyandb.MaxMetadataSize {
		t.Errorf("a file of MaxMetadataSize bytes: %d bytes, %v", len(b), err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", banyandb.MaxMetadataSize+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := banyandb.ReadMetadataFile(big); err == nil || !strings.Contains(err.Error(), "more than the 1048576") {
		t.Errorf("a file one byte over: %v", err)
	}
	if _, err := banyandb.ReadMetadataFile(filepath.Join(dir, "missing")); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v, want not-exist", err)
	}
	if _, err := banyandb.ReadMetadataFile(dir); err == nil {
		t.Error("a directory was read as a metadata file")
	}
}
