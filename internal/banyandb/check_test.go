package banyandb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// checkRoot runs Check on root with segment names read in UTC.
func checkRoot(t *testing.T, root string, cats ...banyandb.Catalog) *banyandb.CheckReport {
	t.Helper()
	r, err := banyandb.Check(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Catalogs: cats, Location: time.UTC})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return r
}

func TestCheckFixturesAreClean(t *testing.T) {
	for _, fx := range []string{fixture.V0102, fixture.V011} {
		t.Run(fx, func(t *testing.T) {
			root := filepath.Join(readOnlyFixture(t, fx), "data")
			r := checkRoot(t, root)
			for _, i := range r.Issues {
				t.Log(i.String())
			}
			if n := r.Errors(); n != 0 {
				t.Errorf("%d errors on an intact fixture", n)
			}
			if r.Issues == nil {
				t.Error("Issues is nil, want an empty slice")
			}
			if len(r.Catalogs) != 5 || r.Groups != 5 || r.Segments != 15 || r.Shards != 18 || r.Parts != 16 {
				t.Errorf("counted %d catalogs, %d groups, %d segments, %d shards, %d parts; want 5, 5, 15, 18, 16",
					len(r.Catalogs), r.Groups, r.Segments, r.Shards, r.Parts)
			}
			if again := checkRoot(t, root); !reflect.DeepEqual(r, again) {
				t.Error("two checks of the same root differ")
			}
		})
	}
}

func TestCheckNotRoot(t *testing.T) {
	_, err := banyandb.Check(context.Background(), banyandb.Roots{Root: t.TempDir()}, banyandb.ScanOptions{})
	if !errors.Is(err, banyandb.ErrNotRoot) {
		t.Fatalf("Check of an empty dir: %v, want ErrNotRoot", err)
	}
}

func TestCheckKnownSegmentVersions(t *testing.T) {
	v := banyandb.KnownSegmentVersions()
	if len(v) == 0 || v[len(v)-1] != "1.5.0" {
		t.Fatalf("KnownSegmentVersions() = %v", v)
	}
	v[0] = "changed"
	if banyandb.KnownSegmentVersions()[0] == "changed" {
		t.Error("KnownSegmentVersions returns its table, not a copy")
	}
}

// Paths used by the damage cases, below <root>.
const (
	mSeg    = "measure/data/bk_measure/seg-20261119"
	mShard  = mSeg + "/shard-0"
	mPart   = mShard + "/0000000000000001"
	tShard  = "trace/data/bk_trace/seg-20261119/shard-0"
	pShard  = "property/data/bk_prop/shard-0"
	relSeg  = "bk_measure/seg-20261119"
	relShrd = relSeg + "/shard-0"
)

func TestCheckDamage(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(t *testing.T, root string)
		sev     banyandb.Severity
		path    string // substring of Issue.Path
		message string // substring of Issue.Message
		// errors is the number of errors expected in all.
		errors int
	}{
		{"part not in snp", func(t *testing.T, root string) {
			copyDir(t, filepath.Join(root, mPart), filepath.Join(root, mShard, "0000000000000002"))
		}, banyandb.SeverityError, relShrd, "part 0000000000000002 is not in the newest .snp: the server would delete it", 1},
		{"snp lists a missing part", func(t *testing.T, root string) {
			write(t, newestSnp(t, filepath.Join(root, mShard)), `["0000000000000001","0000000000000003"]`)
		}, banyandb.SeverityError, relShrd, "part 0000000000000003 is listed in the newest .snp", 1},
		{"part without metadata.json", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, mPart, "metadata.json"))
		}, banyandb.SeverityError, relShrd, "part 0000000000000001 is incomplete (no valid metadata.json)", 1},
		{"part with garbage metadata.json", func(t *testing.T, root string) {
			write(t, filepath.Join(root, mPart, "metadata.json"), "{not json")
		}, banyandb.SeverityError, relShrd, "part 0000000000000001 is incomplete", 1},
		{"garbage snp only", func(t *testing.T, root string) {
			write(t, newestSnp(t, filepath.Join(root, mShard)), "garbage")
		}, banyandb.SeverityError, relShrd, "cannot be parsed", 1},
		{"no snp", func(t *testing.T, root string) {
			remove(t, newestSnp(t, filepath.Join(root, mShard)))
		}, banyandb.SeverityError, relShrd, "no valid .snp: the server would empty this shard (1 part)", 1},
		{"garbage newer snp over a valid older", func(t *testing.T, root string) {
			// The server reads only the highest epoch and panics when it
			// does not parse: it never falls back to the older one.
			write(t, filepath.Join(root, mShard, "ffffffffffffffff.snp"), "garbage")
		}, banyandb.SeverityError, relShrd, "newest part list ffffffffffffffff.snp cannot be parsed", 1},
		{"garbage older snp under a valid newer", func(t *testing.T, root string) {
			write(t, filepath.Join(root, mShard, "0000000000000001.snp"), "garbage")
		}, banyandb.SeverityWarning, relShrd, "part list 0000000000000001.snp cannot be parsed", 0},
		{"segment without metadata", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, mSeg, "metadata"))
		}, banyandb.SeverityError, relSeg, "segment has no metadata file: the server would delete it (2 parts)", 1},
		{"empty segment metadata", func(t *testing.T, root string) {
			write(t, filepath.Join(root, mSeg, "metadata"), "")
		}, banyandb.SeverityError, relSeg, "metadata file is empty", 1},
		{"unknown segment version", func(t *testing.T, root string) {
			write(t, filepath.Join(root, mSeg, "metadata"), `{"version":"9.9.9","endTime":"2026-11-20T00:00:00Z"}`)
		}, banyandb.SeverityError, relSeg, "segment format 9.9.9 is not one BanyanDB accepts", 1},
		{"unknown plain segment version", func(t *testing.T, root string) {
			write(t, filepath.Join(root, mSeg, "metadata"), "9.9.9")
		}, banyandb.SeverityError, relSeg, "segment format 9.9.9", 1},
		{"garbage segment metadata", func(t *testing.T, root string) {
			write(t, filepath.Join(root, mSeg, "metadata"), "garbage")
		}, banyandb.SeverityError, relSeg, "the server would refuse to start", 1},
		{"segment named for 1970", func(t *testing.T, root string) {
			rename(t, filepath.Join(root, mSeg), filepath.Join(root, "measure/data/bk_measure/seg-19700101"))
		}, banyandb.SeverityError, "bk_measure/seg-19700101", "named for 1970-01-01: the server would delete it (2 parts)", 1},
		{"empty segment without metadata", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, "measure/data/bk_measure/seg-20261123/metadata"))
		}, banyandb.SeverityWarning, "bk_measure/seg-20261123", "no metadata file: the server would delete it (0 parts)", 0},
		{"bad segment name", func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "measure/data/bk_measure/seg-2026x"))
		}, banyandb.SeverityError, "bk_measure/seg-2026x", "the server would fail to open group bk_measure", 1},
		{"daily and hourly segments", func(t *testing.T, root string) {
			rename(t, filepath.Join(root, mSeg), filepath.Join(root, "measure/data/bk_measure/seg-2026111900"))
		}, banyandb.SeverityError, "bk_measure", "mixes daily and hourly segment names", 1},
		{"stray directory", func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, mShard, "junk"))
		}, banyandb.SeverityWarning, relShrd, "stray directory junk: the server deletes it", 0},
		{"stream idx in a measure shard", func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, mShard, "idx"))
		}, banyandb.SeverityWarning, relShrd, "stray directory idx", 0},
		{"trace sidx part without manifest", func(t *testing.T, root string) {
			remove(t, filepath.Join(root, tShard, "sidx/duration/0000000000000001/manifest.json"))
		}, banyandb.SeverityError, "bk_trace/seg-20261119/shard-0", "sidx part duration/0000000000000001 has no valid manifest.json", 1},
		{"property shard without snp", func(t *testing.T, root string) {
			for _, m := range glob(t, filepath.Join(root, pShard, "*.snp")) {
				remove(t, m)
			}
		}, banyandb.SeverityWarning, "bk_prop/shard-0", "no Bluge .snp", 0},
		{"no schema-property catalog", func(t *testing.T, root string) {
			if err := os.RemoveAll(filepath.Join(root, "schema-property")); err != nil {
				t.Fatal(err)
			}
		}, banyandb.SeverityWarning, "", "no schema-property catalog", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
			tc.damage(t, root)
			r := checkRoot(t, root)
			found := false
			for _, i := range r.Issues {
				t.Log(i.String())
				if i.Severity == tc.sev && strings.Contains(i.Path, tc.path) && strings.Contains(i.Message, tc.message) {
					found = true
				}
			}
			if !found {
				t.Errorf("no %s issue at %q saying %q", tc.sev, tc.path, tc.message)
			}
			if n := r.Errors(); n != tc.errors {
				t.Errorf("%d errors, want %d", n, tc.errors)
			}
		})
	}
}

func TestCheckIssueFields(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	copyDir(t, filepath.Join(root, mPart), filepath.Join(root, mShard, "0000000000000002"))
	mkdir(t, filepath.Join(root, "stream/data/bk_stream/seg-20261120/shard-0/junk"))
	r := checkRoot(t, root)
	want := []banyandb.Issue{
		{Severity: banyandb.SeverityError, Catalog: banyandb.Measure, Group: "bk_measure", Segment: "seg-20261119", Shard: 0,
			Path: relShrd, Message: "part 0000000000000002 is not in the newest .snp: the server would delete it"},
		{Severity: banyandb.SeverityWarning, Catalog: banyandb.Stream, Group: "bk_stream", Segment: "seg-20261120", Shard: 0,
			Path: "bk_stream/seg-20261120/shard-0", Message: "stray directory junk: the server deletes it"},
	}
	if !reflect.DeepEqual(r.Issues, want) {
		t.Errorf("issues:\n%v\nwant:\n%v", r.Issues, want)
	}
	line := "error   measure bk_measure/seg-20261119/shard-0: part 0000000000000002 is not in the newest .snp: the server would delete it"
	if got := r.Issues[0].String(); got != line {
		t.Errorf("String() = %q, want %q", got, line)
	}
}

func TestCheckSchemaWarningOnlyWhenAsked(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	if err := os.RemoveAll(filepath.Join(root, "schema-property")); err != nil {
		t.Fatal(err)
	}
	if r := checkRoot(t, root, banyandb.Measure); len(r.Issues) != 0 {
		t.Errorf("a check of measure only reported %v", r.Issues)
	}
}

func newestSnp(t *testing.T, shard string) string {
	t.Helper()
	m := glob(t, filepath.Join(shard, "*.snp"))
	if len(m) == 0 {
		t.Fatalf("no .snp in %s", shard)
	}
	return m[len(m)-1] // 16 hex digits: lexical order is epoch order
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

func mkdir(t *testing.T, p string) {
	t.Helper()
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies the regular files of directory from into a new directory to.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	mkdir(t, to)
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(to, e.Name()), string(b))
	}
}
