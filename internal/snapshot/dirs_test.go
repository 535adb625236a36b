package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

func TestDir(t *testing.T) {
	roots := banyandb.Roots{Root: "/r", Override: map[banyandb.Catalog]string{banyandb.SchemaProperty: "/s"}}
	const name = "20261123193143-00000001"
	tests := []struct {
		cat       banyandb.Catalog
		dir, snap string
	}{
		{banyandb.Measure, "/r/measure/snapshots/" + name, "/r/measure/snapshots/" + name},
		{banyandb.Stream, "/r/stream/snapshots/" + name, "/r/stream/snapshots/" + name},
		{banyandb.Trace, "/r/trace/snapshots/" + name, "/r/trace/snapshots/" + name},
		{banyandb.Property, "/r/property/snapshots/" + name + "/data", "/r/property/snapshots/" + name},
		{banyandb.SchemaProperty, "/s/schema-property/snapshots/" + name + "/data", "/s/schema-property/snapshots/" + name},
	}
	for _, tt := range tests {
		tk := Taken{Catalog: tt.cat, Name: name}
		if got := Dir(roots, tk); got != filepath.FromSlash(tt.dir) {
			t.Errorf("Dir(%s) = %s, want %s", tt.cat, got, tt.dir)
		}
		if got := SnapshotDir(roots, tk); got != filepath.FromSlash(tt.snap) {
			t.Errorf("SnapshotDir(%s) = %s, want %s", tt.cat, got, tt.snap)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		"20261123193143-00000001":    true,
		"20261123193143-0000ABCD":    true,
		"20261123193143-0000abcd":    true,
		"20261123193143-0000001":     false,
		"2026112319314-00000001":     false,
		"20261123193143-0000000g":    false,
		"../x":                       false,
		"":                           false,
		"20261123193143-00000001/..": false,
	} {
		if got := ValidName(name); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRemove(t *testing.T) {
	root := t.TempDir()
	roots := banyandb.Roots{Root: root}
	mk := func(p string) string {
		t.Helper()
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(full, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(full, "f"), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		return full
	}
	gone := []string{
		"measure/snapshots/20261123193143-00000002",
		"property/snapshots/20261123193143-00000002",
		"schema-property/snapshots/20261123193143-00000002",
	}
	mk(gone[0] + "/bk_measure/seg-20261119")
	mk(gone[1] + "/data/bk_prop/shard-0")
	mk(gone[2] + "/data/_schema/shard-0")
	kept := []string{
		mk("measure/snapshots/20261123193143-00000001/bk_measure"),
		mk("measure/data/bk_measure"),
		mk("stream/snapshots/20261123193143-00000002"),
		mk("x"),
	}
	taken := []Taken{
		{Catalog: banyandb.Measure, Name: "20261123193143-00000002"},
		{Catalog: banyandb.Property, Name: "20261123193143-00000002"},
		{Catalog: banyandb.SchemaProperty, Name: "20261123193143-00000002"},
		{Catalog: banyandb.Trace, Name: "20261123193143-00000002"}, // not there: fine
		{Catalog: banyandb.Stream, Error: "failed"},                // no name: skipped
	}
	if err := Remove(roots, taken); err != nil {
		t.Fatal(err)
	}
	for _, p := range gone {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(p))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s not removed: %v", p, err)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(filepath.Join(p, "f")); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

func TestRemoveRefuses(t *testing.T) {
	root := t.TempDir()
	roots := banyandb.Roots{Root: filepath.Join(root, "data")}
	victim := filepath.Join(root, "data", "measure", "x")
	if err := os.MkdirAll(victim, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(roots.SnapshotsDir(banyandb.Stream), "20261123193143-00000001")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		roots banyandb.Roots
		t     Taken
		want  string
	}{
		{"dotdot", roots, Taken{Catalog: banyandb.Measure, Name: "../x"}, "not a snapshot name"},
		{"abs", roots, Taken{Catalog: banyandb.Measure, Name: victim}, "not a snapshot name"},
		{"dot", roots, Taken{Catalog: banyandb.Measure, Name: "."}, "not a snapshot name"},
		{"catalog", roots, Taken{Catalog: "../measure", Name: "20261123193143-00000001"}, "unknown catalog"},
		{"no-root", banyandb.Roots{}, Taken{Catalog: banyandb.Measure, Name: "20261123193143-00000001"}, "no root"},
		{"file", roots, Taken{Catalog: banyandb.Stream, Name: "20261123193143-00000001"}, "not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Remove(tt.roots, []Taken{tt.t})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Remove(%+v) error = %v, want %q", tt.t, err, tt.want)
			}
		})
	}
	if _, err := os.Stat(victim); err != nil {
		t.Errorf("%s removed: %v", victim, err)
	}
	if _, err := os.Stat(file); err != nil {
		t.Errorf("%s removed: %v", file, err)
	}
}

// TestRemoveGoesOn checks that Remove returns the first error but removes
// the other snapshots.
func TestRemoveGoesOn(t *testing.T) {
	root := t.TempDir()
	roots := banyandb.Roots{Root: root}
	good := Taken{Catalog: banyandb.Trace, Name: "20261123193143-00000003"}
	if err := os.MkdirAll(SnapshotDir(roots, good), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Remove(roots, []Taken{{Catalog: banyandb.Trace, Name: "../../etc"}, good, {Catalog: banyandb.Trace, Name: "x"}})
	if err == nil || !strings.Contains(err.Error(), `"../../etc"`) {
		t.Errorf("Remove error = %v, want the first refusal", err)
	}
	if _, err := os.Stat(SnapshotDir(roots, good)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("good snapshot not removed: %v", err)
	}
}
