package snapshot

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// mkSnapshot makes <root>/<catalog>/snapshots/<name> with a file in it.
func mkSnapshot(t *testing.T, roots banyandb.Roots, tk Taken) string {
	t.Helper()
	dir := SnapshotDir(roots, tk)
	if err := os.MkdirAll(filepath.Join(dir, "g", "seg-20260101"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "g", "seg-20260101", "metadata"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Only snapshots whose claim no one holds are removed: a running
// backup's (claim held), an operator's (no claim) and a kept one stay.
func TestRemoveAbandoned(t *testing.T) {
	roots := banyandb.Roots{Root: t.TempDir()}
	running := Taken{Catalog: banyandb.Measure, Name: "20260101000000-00000001"}
	dead := []Taken{{Catalog: banyandb.Measure, Name: "20260101000000-00000002"}, {Catalog: banyandb.SchemaProperty, Name: "20260101000000-00000002"}}
	operators := Taken{Catalog: banyandb.Stream, Name: "20260101000000-00000003"}
	for _, tk := range append([]Taken{running, operators}, dead...) {
		mkSnapshot(t, roots, tk)
	}
	noGroups := Taken{Catalog: banyandb.Trace, Name: "20260101000000-00000002"} // no directory: nothing to claim

	held, err := ClaimSnapshots(roots, []Taken{running}, "node:17912")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	gone, err := ClaimSnapshots(roots, append(dead, noGroups), "node:17912")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(SnapshotDir(roots, dead[0]), ClaimFile)); err != nil {
		t.Fatalf("no claim file: %v", err)
	}
	gone.Release() // as the kernel does when its process is killed

	removed, err := RemoveAbandoned(roots)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{SnapshotDir(roots, dead[0]), SnapshotDir(roots, dead[1])}
	slices.Sort(removed)
	slices.Sort(want)
	if !slices.Equal(removed, want) {
		t.Errorf("removed %v, want %v", removed, want)
	}
	for _, tk := range []Taken{running, operators} {
		if _, err := os.Stat(SnapshotDir(roots, tk)); err != nil {
			t.Errorf("%s snapshot %s removed: %v", tk.Catalog, tk.Name, err)
		}
	}
	for _, tk := range dead {
		if _, err := os.Stat(SnapshotDir(roots, tk)); !os.IsNotExist(err) {
			t.Errorf("abandoned %s snapshot %s is still there: %v", tk.Catalog, tk.Name, err)
		}
	}
}
