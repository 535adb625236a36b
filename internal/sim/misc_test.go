package sim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSize(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int64{"65536": 65536, "64KiB": 65536, "64k": 65536, "1MiB": 1 << 20, " 2 MB ": 2 << 20, "10B": 10} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KiB", "-1", "1.5k", "12 parsecs"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted", in)
		}
	}
}

func TestNewRejects(t *testing.T) {
	t.Parallel()
	bad := []func(*Config){
		func(c *Config) { c.Root = "" },
		func(c *Config) { c.Workload.PartSize = 0 },
		func(c *Config) { c.Workload.ClockStep = 0 },
		func(c *Config) { c.Workload.MergeEvery = -1 },
		func(c *Config) { c.Faults.ErrorCatalog = "metrics" },
	}
	for i, mod := range bad {
		cfg := testConfig(t.TempDir())
		mod(&cfg)
		if _, err := New(cfg); err == nil || !strings.HasPrefix(err.Error(), "cannot create simulator") {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestStartOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	if err := s.Start(context.Background()); err == nil {
		t.Error("second Start accepted")
	}
	if s.GRPCAddr() == "" || s.HTTPAddr() == "" || strings.HasSuffix(s.GRPCAddr(), ":0") {
		t.Errorf("addresses %q %q", s.GRPCAddr(), s.HTTPAddr())
	}
}

func TestEmptyRoot(t *testing.T) {
	t.Parallel()
	// A root without data gets its catalog directories, and writes start
	// nowhere (there is no group).
	s := startWith(t, testConfig(t.TempDir()))
	for _, c := range []string{"measure", "stream", "trace", "property", "schema-property"} {
		if !isDir(filepath.Join(s.Root(), c, "data")) {
			t.Errorf("no %s/data", c)
		}
	}
	if err := s.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	resp, err := s.Snapshot(context.Background(), nil)
	if err != nil || len(resp.Snapshots) != 5 {
		t.Fatalf("%v, %v", resp, err)
	}
	// Every catalog is named without an error, and none has a group, so
	// none gets a directory (docs/banyandb.md, Snapshots).
	for _, sn := range resp.Snapshots {
		if sn.Name == "" || sn.Error != "" {
			t.Errorf("snapshot %v: want a name and no error", sn)
		}
	}
	for _, c := range []string{"measure", "stream", "trace", "property", "schema-property"} {
		if isDir(filepath.Join(s.Root(), c, "snapshots")) {
			t.Errorf("a root without groups got a %s snapshot directory", c)
		}
	}
}

func TestSeedRefusesData(t *testing.T) {
	t.Parallel()
	root := newTestRoot(t)
	if err := SeedFromFixture(context.Background(), fixtureTop, root); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("seeding over data: %v", err)
	}
	if err := SeedFromFixture(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "r")); err == nil {
		t.Error("seeding from an empty directory accepted")
	}
	// Snapshots of the fixture are not copied.
	if _, err := os.Stat(filepath.Join(root, "measure", "snapshots")); !os.IsNotExist(err) {
		t.Errorf("fixture snapshots copied: %v", err)
	}
}
