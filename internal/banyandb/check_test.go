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
	// mSnp is the only .snp of mShard in the 0.11 fixture; it lists
	// 0000000000000001 and nothing else.
	mSnp = "18eac4200776726a.snp"
)

// want is one issue a check case expects: its severity, what the server
// does, where (a substring of Issue.Path) and a substring of the message.
type want struct {
	sev     banyandb.Severity
	action  banyandb.Action
	path    string
	message string
}

// TestCheckPredictsServer: one damaged 0.11 root per server startup rule
// (docs/banyandb.md, Server startup); check must report exactly the
// predicted consequences, each with its severity.
func TestCheckPredictsServer(t *testing.T) {
	const (
		E = banyandb.SeverityError
		W = banyandb.SeverityWarning
	)
	cases := []struct {
		name   string
		damage func(t *testing.T, root string)
		// release is the target; the zero Release accepts every format.
		release banyandb.Release
		want    []want
	}{
		// A listed part whose directory is gone, leaving the shard no part
		// directory at all: the server skips it and serves nothing of it.
		{name: "listed part with no directory in the shard", damage: func(t *testing.T, root string) {
			removeAll(t, filepath.Join(root, mPart))
		}, want: []want{{E, banyandb.ActionSkip, relShrd,
			"part 0000000000000001 is listed in the winning part list " + mSnp + " but not in the shard: the server skips it without a word, and its rows are not served"}}},
		{name: "listed part missing beside a present one", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mShard, mSnp), `["0000000000000001","0000000000000003"]`)
		}, want: []want{{E, banyandb.ActionSkip, relShrd, "part 0000000000000003 is listed in the winning part list"}}},
		// The server falls back to the older .snp, which lists every part:
		// it survives, nothing is lost.
		{name: "unparseable newest snp over a good older one", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mShard, "ffffffffffffffff.snp"), "garbage")
		}, want: []want{{W, banyandb.ActionFallBack, relShrd,
			"part list ffffffffffffffff.snp cannot be loaded (cannot parse part list: invalid character 'g' looking for beginning of value): the server deletes it and falls back to the next older, " + mSnp}}},
		// A fallback to an older .snp that does not list a part: the
		// fallback is survived, the part it leaves out is deleted.
		{name: "fallback to an older snp that lists fewer parts", damage: func(t *testing.T, root string) {
			copyDir(t, filepath.Join(root, mPart), filepath.Join(root, mShard, "0000000000000002"))
			write(t, filepath.Join(root, mShard, "ffffffffffffffff.snp"), `["0000000000000001","00000000`)
		}, want: []want{
			{W, banyandb.ActionFallBack, relShrd, "part list ffffffffffffffff.snp cannot be loaded"},
			{E, banyandb.ActionDelete, relShrd, "part 0000000000000002 is not listed in the winning part list " + mSnp + ": the server deletes it"},
		}},
		{name: "two unparseable snps over a good one", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mShard, "fffffffffffffffe.snp"), "")
			write(t, filepath.Join(root, mShard, "ffffffffffffffff.snp"), `["not a part"]`)
		}, want: []want{
			{W, banyandb.ActionFallBack, relShrd, "part list fffffffffffffffe.snp cannot be loaded (cannot parse part list: unexpected end of JSON input): the server deletes it and falls back to the next older, " + mSnp},
			{W, banyandb.ActionFallBack, relShrd, "part list ffffffffffffffff.snp cannot be loaded (cannot parse part list: \"not a part\" is not a part name): the server deletes it and tries the next older, fffffffffffffffe.snp"},
		}},
		{name: "only snp unparseable", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mShard, mSnp), "garbage")
		}, want: []want{
			{W, banyandb.ActionFallBack, relShrd, "part list " + mSnp + " cannot be loaded (cannot parse part list: invalid character 'g' looking for beginning of value): the server deletes it and no older .snp is left"},
			{E, banyandb.ActionEmpty, relShrd, "no .snp of the shard loads: the server empties it, deleting 1 part"},
		}},
		{name: "unparseable older snp under the winner", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mShard, "0000000000000001.snp"), "garbage")
		}, want: []want{{W, banyandb.ActionIgnore, relShrd, "older part list 0000000000000001.snp cannot be loaded"}}},
		{name: "part directory not listed", damage: func(t *testing.T, root string) {
			copyDir(t, filepath.Join(root, mPart), filepath.Join(root, mShard, "0000000000000002"))
		}, want: []want{{E, banyandb.ActionDelete, relShrd, "part 0000000000000002 is not listed in the winning part list " + mSnp + ": the server deletes it"}}},
		{name: "winning snp lists no parts", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mShard, mSnp), `[]`)
		}, want: []want{{E, banyandb.ActionEmpty, relShrd, "the winning part list " + mSnp + " lists no parts: the server empties the shard, deleting 1 part"}}},
		{name: "truncated metadata.json", damage: func(t *testing.T, root string) {
			p := filepath.Join(root, mPart, "metadata.json")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			write(t, p, string(b[:len(b)/2]))
		}, want: []want{{E, banyandb.ActionDelete, relShrd, "part 0000000000000001 has no valid metadata.json (cannot parse part metadata: unexpected end of JSON input): the server deletes it as incomplete"}}},
		{name: "part without metadata.json", damage: func(t *testing.T, root string) {
			remove(t, filepath.Join(root, mPart, "metadata.json"))
		}, want: []want{{E, banyandb.ActionDelete, relShrd, "part 0000000000000001 has no valid metadata.json"}}},
		{name: "shard with no snp", damage: func(t *testing.T, root string) {
			remove(t, filepath.Join(root, mShard, mSnp))
		}, want: []want{{E, banyandb.ActionEmpty, relShrd, "shard has no .snp: the server empties it, deleting 1 part"}}},
		{name: "shard with neither snp nor parts", damage: func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, mSeg, "shard-7"))
		}, want: []want{{W, banyandb.ActionEmpty, relSeg + "/shard-7", "shard has no .snp: the server empties it (it holds no parts)"}}},
		{name: "stray non-hex directory", damage: func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, mShard, "junk"))
		}, want: []want{{W, banyandb.ActionDelete, relShrd, "directory junk is not a part (its name is not 16 hex digits): the server deletes it"}}},
		{name: "stream idx in a measure shard", damage: func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, mShard, "idx"))
		}, want: []want{{W, banyandb.ActionDelete, relShrd, "directory idx is not a part"}}},
		{name: "known shard entries are kept", damage: func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, mShard, "failed-parts"))
			mkdir(t, filepath.Join(root, mShard, "external-segment-temp"))
		}},
		{name: "segment without metadata", damage: func(t *testing.T, root string) {
			remove(t, filepath.Join(root, mSeg, "metadata"))
		}, want: []want{{E, banyandb.ActionDelete, relSeg, "segment has no metadata file: the server deletes it (2 parts)"}}},
		{name: "empty segment without metadata", damage: func(t *testing.T, root string) {
			remove(t, filepath.Join(root, "measure/data/bk_measure/seg-20261123/metadata"))
		}, want: []want{{W, banyandb.ActionDelete, "bk_measure/seg-20261123", "segment has no metadata file: the server deletes it (0 parts)"}}},
		{name: "empty segment metadata", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mSeg, "metadata"), "")
		}, want: []want{{E, banyandb.ActionDelete, relSeg, "segment metadata file is empty: the server deletes it (2 parts)"}}},
		{name: "segment named for 1970-01-01", damage: func(t *testing.T, root string) {
			rename(t, filepath.Join(root, mSeg), filepath.Join(root, "measure/data/bk_measure/seg-19700101"))
		}, want: []want{{E, banyandb.ActionDelete, "bk_measure/seg-19700101", "segment is named for 1970-01-01: the server deletes it (2 parts)"}}},
		{name: "unknown segment format version", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mSeg, "metadata"), `{"version":"9.9.9","endTime":"2026-11-20T00:00:00Z"}`)
		}, want: []want{{E, banyandb.ActionRefuseStart, relSeg,
			"segment format 9.9.9 is not one BanyanDB opens (1.1.0, 1.2.0, 1.3.0, 1.4.0, 1.5.0): the server refuses to start"}}},
		{name: "unknown plain segment version", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mSeg, "metadata"), "9.9.9")
		}, want: []want{{E, banyandb.ActionRefuseStart, relSeg, "segment format 9.9.9 is not one BanyanDB opens"}}},
		{name: "garbage segment metadata", damage: func(t *testing.T, root string) {
			write(t, filepath.Join(root, mSeg, "metadata"), "garbage")
		}, want: []want{{E, banyandb.ActionRefuseStart, relSeg, "the server refuses to start"}}},
		// 0.10.0–0.10.2 open only 1.4.0: every 1.5.0 segment of the intact
		// fixture stops the server (5 per catalog).
		{name: "segment format the target release does not open",
			release: banyandb.Release{Name: "0.10.2", SegmentFormats: []string{"1.4.0"}},
			want: func() []want {
				var ws []want
				for _, g := range []string{"bk_measure", "bk_stream", "bk_trace"} {
					for _, d := range []string{"19", "20", "21", "22", "23"} {
						ws = append(ws, want{E, banyandb.ActionRefuseStart, g + "/seg-202611" + d,
							"segment format 1.5.0 is not one BanyanDB 0.10.2 opens (1.4.0): the server refuses to start"})
					}
				}
				return ws
			}()},
		{name: "bad segment name", damage: func(t *testing.T, root string) {
			mkdir(t, filepath.Join(root, "measure/data/bk_measure/seg-2026x"))
		}, want: []want{{E, banyandb.ActionFailGroup, "bk_measure/seg-2026x", "the server would fail to open group bk_measure"}}},
		{name: "daily and hourly segments", damage: func(t *testing.T, root string) {
			rename(t, filepath.Join(root, mSeg), filepath.Join(root, "measure/data/bk_measure/seg-2026111900"))
		}, want: []want{{E, banyandb.ActionFailGroup, "bk_measure", "mixes daily and hourly segment names"}}},
		{name: "trace sidx part without manifest", damage: func(t *testing.T, root string) {
			remove(t, filepath.Join(root, tShard, "sidx/duration/0000000000000001/manifest.json"))
		}, want: []want{{E, banyandb.ActionDelete, "bk_trace/seg-20261119/shard-0", "sidx part duration/0000000000000001 has no valid manifest.json: the server deletes it"}}},
		{name: "property shard without snp", damage: func(t *testing.T, root string) {
			for _, m := range glob(t, filepath.Join(root, pShard, "*.snp")) {
				remove(t, m)
			}
		}, want: []want{{W, banyandb.ActionEmpty, "bk_prop/shard-0", "no Bluge .snp"}}},
		{name: "no schema-property catalog", damage: func(t *testing.T, root string) {
			removeAll(t, filepath.Join(root, "schema-property"))
		}, want: []want{{W, banyandb.ActionNone, "", "no schema-property catalog"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
			if tc.damage != nil {
				tc.damage(t, root)
			}
			r, err := banyandb.CheckRelease(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: time.UTC}, tc.release)
			if err != nil {
				t.Fatalf("CheckRelease: %v", err)
			}
			matched := make([]bool, len(tc.want))
			for _, i := range r.Issues {
				found := false
				for k, w := range tc.want {
					if !matched[k] && i.Severity == w.sev && i.Action == w.action && strings.Contains(i.Path, w.path) && strings.Contains(i.Message, w.message) {
						matched[k], found = true, true
						break
					}
				}
				if !found {
					t.Errorf("unexpected issue: %s [%s]", i, i.Action)
				}
			}
			for k, w := range tc.want {
				if !matched[k] {
					t.Errorf("no %s issue (%s) at %q saying %q", w.sev, w.action, w.path, w.message)
				}
			}
			errs := 0
			for _, w := range tc.want {
				if w.sev == E {
					errs++
				}
			}
			if r.Errors() != errs || r.Warnings() != len(tc.want)-errs {
				t.Errorf("%d errors, %d warnings; want %d, %d", r.Errors(), r.Warnings(), errs, len(tc.want)-errs)
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
		{Severity: banyandb.SeverityError, Action: banyandb.ActionDelete, Catalog: banyandb.Measure, Group: "bk_measure", Segment: "seg-20261119", Shard: 0,
			Path: relShrd, Message: "part 0000000000000002 is not listed in the winning part list " + mSnp + ": the server deletes it"},
		{Severity: banyandb.SeverityWarning, Action: banyandb.ActionDelete, Catalog: banyandb.Stream, Group: "bk_stream", Segment: "seg-20261120", Shard: 0,
			Path: "bk_stream/seg-20261120/shard-0", Message: "directory junk is not a part (its name is not 16 hex digits): the server deletes it"},
	}
	if !reflect.DeepEqual(r.Issues, want) {
		t.Errorf("issues:\n%v\nwant:\n%v", r.Issues, want)
	}
	line := "error   measure bk_measure/seg-20261119/shard-0: part 0000000000000002 is not listed in the winning part list " + mSnp + ": the server deletes it"
	if got := r.Issues[0].String(); got != line {
		t.Errorf("String() = %q, want %q", got, line)
	}
}

func TestCheckSchemaWarningOnlyWhenAsked(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	removeAll(t, filepath.Join(root, "schema-property"))
	if r := checkRoot(t, root, banyandb.Measure); len(r.Issues) != 0 {
		t.Errorf("a check of measure only reported %v", r.Issues)
	}
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

func removeAll(t *testing.T, p string) {
	t.Helper()
	if err := os.RemoveAll(p); err != nil {
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
