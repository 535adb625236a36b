package banyandb_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

func TestParseCatalog(t *testing.T) {
	tests := []struct {
		in   string
		want banyandb.Catalog
		ok   bool
	}{
		{"measure", banyandb.Measure, true},
		{"stream", banyandb.Stream, true},
		{"trace", banyandb.Trace, true},
		{"property", banyandb.Property, true},
		{"schema-property", banyandb.SchemaProperty, true},
		{" Measure ", banyandb.Measure, true},
		{"schema_property", "", false},
		{"", "", false},
		{"measures", "", false},
	}
	for _, tc := range tests {
		got, err := banyandb.ParseCatalog(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseCatalog(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "cannot parse catalog") {
			t.Errorf("ParseCatalog(%q) error %q", tc.in, err)
		}
	}
}

func TestAllCatalogs(t *testing.T) {
	all := banyandb.AllCatalogs()
	want := []banyandb.Catalog{"measure", "stream", "trace", "property", "schema-property"}
	if len(all) != len(want) {
		t.Fatalf("AllCatalogs() = %v", all)
	}
	for i := range want {
		if all[i] != want[i] || !all[i].Valid() {
			t.Errorf("AllCatalogs()[%d] = %q, want %q", i, all[i], want[i])
		}
	}
	all[0] = "changed"
	if banyandb.AllCatalogs()[0] != banyandb.Measure {
		t.Error("AllCatalogs shares its slice")
	}
	for _, c := range want {
		if got := c.HasSegments(); got != (c == "measure" || c == "stream" || c == "trace") {
			t.Errorf("%s.HasSegments() = %v", c, got)
		}
	}
}

func TestRoots(t *testing.T) {
	r := banyandb.Roots{Root: "/var/bydb", Override: map[banyandb.Catalog]string{banyandb.Trace: "/fast"}}
	tests := []struct {
		c                    banyandb.Catalog
		root, data, snapshot string
	}{
		{banyandb.Measure, "/var/bydb", "/var/bydb/measure/data", "/var/bydb/measure/snapshots"},
		{banyandb.Trace, "/fast", "/fast/trace/data", "/fast/trace/snapshots"},
		{banyandb.SchemaProperty, "/var/bydb", "/var/bydb/schema-property/data", "/var/bydb/schema-property/snapshots"},
	}
	for _, tc := range tests {
		if got := r.CatalogRoot(tc.c); got != filepath.FromSlash(tc.root) {
			t.Errorf("CatalogRoot(%s) = %s, want %s", tc.c, got, tc.root)
		}
		if got := r.DataDir(tc.c); got != filepath.FromSlash(tc.data) {
			t.Errorf("DataDir(%s) = %s, want %s", tc.c, got, tc.data)
		}
		if got := r.SnapshotsDir(tc.c); got != filepath.FromSlash(tc.snapshot) {
			t.Errorf("SnapshotsDir(%s) = %s, want %s", tc.c, got, tc.snapshot)
		}
	}
}
