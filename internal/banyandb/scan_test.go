package banyandb_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

var fixtures = []struct {
	name     string
	version  string
	endKnown bool
}{
	{fixture.V0102, "1.4.0", false},
	{fixture.V011, "1.5.0", true},
}

// listed is one entry of records/find-listing.txt.
type listed struct {
	dir   bool
	size  int64
	nlink uint64
}

// readListing returns the entries of records/find-listing.txt below each
// catalog's data dir, keyed by "<catalog>:<path relative to the data dir>".
func readListing(t *testing.T, top string) map[string]listed {
	t.Helper()
	f, err := os.Open(filepath.Join(top, "records", "find-listing.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]listed{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 4 {
			t.Fatalf("bad listing line %q", sc.Text())
		}
		size, err1 := strconv.ParseInt(fields[1], 10, 64)
		nlink, err2 := strconv.ParseUint(fields[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad listing line %q", sc.Text())
		}
		for _, c := range banyandb.AllCatalogs() {
			rel, ok := strings.CutPrefix(fields[3], "data/"+string(c)+"/data/")
			if ok {
				out[string(c)+":"+rel] = listed{dir: fields[0] == "d", size: size, nlink: nlink}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// excluded tells whether Scan leaves the listed file out.
func excluded(rel string) bool {
	base := rel[strings.LastIndex(rel, "/")+1:]
	return base == "lock" || base == "bluge.pid" || strings.HasSuffix(base, ".tmp") ||
		strings.Contains(rel, "external-segment-temp/")
}

func scanFixture(t *testing.T, name string, opts banyandb.ScanOptions) (string, *banyandb.Layout) {
	t.Helper()
	top := readOnlyFixture(t, name)
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	l, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: filepath.Join(top, "data")}, opts)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	return top, l
}

func TestScanMatchesListing(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			top, l := scanFixture(t, fx.name, banyandb.ScanOptions{})
			if !slices.Equal(l.Catalogs, banyandb.AllCatalogs()) {
				t.Errorf("Catalogs = %v", l.Catalogs)
			}
			if len(l.Warnings) != 0 {
				t.Errorf("Warnings = %q", l.Warnings)
			}
			want := readListing(t, top)
			gotFiles := map[string]banyandb.File{}
			gotDirs := map[string]bool{}
			var total int64
			for _, f := range l.Files {
				gotFiles[string(f.Catalog)+":"+f.Path] = f
			}
			for _, d := range l.Dirs {
				gotDirs[string(d.Catalog)+":"+d.Path] = true
				// BanyanDB makes its directories 0700, external-segment-temp 0755.
				want := os.FileMode(0o700)
				if strings.HasSuffix(d.Path, "/external-segment-temp") {
					want = 0o755
				}
				if !d.Mode.IsDir() || d.Mode.Perm() != want {
					t.Errorf("dir %s: mode %v, want %v", d.Path, d.Mode, want)
				}
			}
			for key, e := range want {
				switch {
				case e.dir:
					if !gotDirs[key] {
						t.Errorf("dir %s missing", key)
					}
				case excluded(key[strings.Index(key, ":")+1:]):
					if _, ok := gotFiles[key]; ok {
						t.Errorf("file %s should be left out", key)
					}
				default:
					total += e.size
					f, ok := gotFiles[key]
					if !ok {
						t.Errorf("file %s missing", key)
						continue
					}
					if f.Size != e.size || f.Nlink != e.nlink {
						t.Errorf("file %s: size %d nlink %d, want %d %d", key, f.Size, f.Nlink, e.size, e.nlink)
					}
					if f.Inode == 0 || f.Mode.Perm() != 0o600 || f.ModTime.IsZero() {
						t.Errorf("file %s: inode %d mode %v mtime %v", key, f.Inode, f.Mode, f.ModTime)
					}
				}
			}
			for key := range gotFiles {
				if e, ok := want[key]; !ok || e.dir {
					t.Errorf("unexpected file %s", key)
				}
			}
			for key := range gotDirs {
				if e, ok := want[key]; !ok || !e.dir {
					t.Errorf("unexpected dir %s", key)
				}
			}
			if got := l.TotalBytes(); got != total {
				t.Errorf("TotalBytes() = %d, want %d", got, total)
			}
			if !slices.IsSortedFunc(l.Files, func(a, b banyandb.File) int {
				if a.Catalog != b.Catalog {
					return slices.Index(banyandb.AllCatalogs(), a.Catalog) - slices.Index(banyandb.AllCatalogs(), b.Catalog)
				}
				return strings.Compare(a.Path, b.Path)
			}) {
				t.Error("Files are not sorted by catalog and path")
			}
		})
	}
}

func TestScanKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		catalog banyandb.Catalog
		path    string
		kind    banyandb.FileKind
		group   string
		segment string
		shard   int
		part    string
	}{
		{banyandb.Measure, "bk_measure/seg-20261119/metadata", banyandb.KindSegmentMetadata, "bk_measure", "seg-20261119", -1, ""},
		{banyandb.Measure, "bk_measure/seg-20261119/shard-1/0000000000000001/fv.bin", banyandb.KindPart, "bk_measure", "seg-20261119", 1, "0000000000000001"},
		{banyandb.Measure, "bk_measure/seg-20261120/shard-0/0000000000000001/metadata.json", banyandb.KindPart, "bk_measure", "seg-20261120", 0, "0000000000000001"},
		{banyandb.Measure, "bk_measure/seg-20261119/sidx/000000000004.seg", banyandb.KindIndex, "bk_measure", "seg-20261119", -1, ""},
		{banyandb.Measure, "bk_measure/seg-20261119/sidx/000000000003.snp", banyandb.KindIndex, "bk_measure", "seg-20261119", -1, ""},
		{banyandb.Stream, "bk_stream/seg-20261121/shard-0/idx/000000000002.seg", banyandb.KindIndex, "bk_stream", "seg-20261121", 0, ""},
		{banyandb.Stream, "bk_stream/seg-20261121/shard-0/0000000000000001/data.tff", banyandb.KindPart, "bk_stream", "seg-20261121", 0, "0000000000000001"},
		{banyandb.Trace, "bk_trace/seg-20261122/shard-0/0000000000000001/spans.bin", banyandb.KindPart, "bk_trace", "seg-20261122", 0, "0000000000000001"},
		{banyandb.Trace, "bk_trace/seg-20261122/shard-0/sidx/duration/0000000000000001/manifest.json", banyandb.KindPart, "bk_trace", "seg-20261122", 0, "0000000000000001"},
		{banyandb.Property, "bk_prop/shard-0/000000000028.seg", banyandb.KindIndex, "bk_prop", "", 0, ""},
		{banyandb.SchemaProperty, "_schema/shard-0/000000000010.seg", banyandb.KindIndex, "_schema", "", 0, ""},
	}
	_, l := scanFixture(t, fixture.V011, banyandb.ScanOptions{})
	byPath := map[string]banyandb.File{}
	for _, f := range l.Files {
		byPath[string(f.Catalog)+":"+f.Path] = f
	}
	for _, tc := range tests {
		f, ok := byPath[string(tc.catalog)+":"+tc.path]
		if !ok {
			t.Errorf("%s %s: not found", tc.catalog, tc.path)
			continue
		}
		if f.Kind != tc.kind || f.Group != tc.group || f.Segment != tc.segment || f.Shard != tc.shard || f.Part != tc.part {
			t.Errorf("%s %s: kind %v group %q segment %q shard %d part %q; want %v %q %q %d %q",
				tc.catalog, tc.path, f.Kind, f.Group, f.Segment, f.Shard, f.Part, tc.kind, tc.group, tc.segment, tc.shard, tc.part)
		}
	}
	// Every shard .snp is a KindSnp and names a part list.
	snps := 0
	for _, f := range l.Files {
		if f.Kind == banyandb.KindSnp {
			snps++
			if f.Shard < 0 || f.Segment == "" {
				t.Errorf("snp %s: shard %d segment %q", f.Path, f.Shard, f.Segment)
			}
		}
	}
	if snps != 16 { // measure 4 segments × 2 shards, stream 4, trace 4
		t.Errorf("%d .snp files, want 16", snps)
	}
}

func TestScanSegments(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			_, l := scanFixture(t, fx.name, banyandb.ScanOptions{})
			var got []string
			for _, s := range l.Segments {
				got = append(got, string(s.Catalog)+":"+s.Path())
				day, err := time.Parse("20060102", strings.TrimPrefix(s.Name, "seg-"))
				if err != nil {
					t.Fatal(err)
				}
				if !s.Start.Equal(day) || !s.End.Equal(day.AddDate(0, 0, 1)) {
					t.Errorf("%s %s: %v – %v, want %v – %v", s.Catalog, s.Name, s.Start, s.End, day, day.AddDate(0, 0, 1))
				}
				if s.Version != fx.version || s.EndKnown != fx.endKnown {
					t.Errorf("%s %s: version %q endKnown %v, want %q %v", s.Catalog, s.Name, s.Version, s.EndKnown, fx.version, fx.endKnown)
				}
			}
			var want []string
			for _, g := range []string{"measure:bk_measure", "stream:bk_stream", "trace:bk_trace"} {
				for d := 19; d <= 23; d++ {
					want = append(want, g+"/seg-202611"+strconv.Itoa(d))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("segments %v, want %v", got, want)
			}
		})
	}
	t.Run("seg-20261119 ends from metadata", func(t *testing.T) {
		_, l := scanFixture(t, fixture.V011, banyandb.ScanOptions{Catalogs: []banyandb.Catalog{banyandb.Measure}})
		s := l.Segments[0]
		if s.Name != "seg-20261119" || !s.EndKnown || !s.End.Equal(time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("first segment %+v", s)
		}
	})
}

func TestScanParts(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			_, l := scanFixture(t, fx.name, banyandb.ScanOptions{})
			segs := map[string]banyandb.Segment{}
			for _, s := range l.Segments {
				segs[string(s.Catalog)+":"+s.Path()] = s
			}
			count := map[banyandb.Catalog]int{}
			sidx := 0
			for _, p := range l.Parts {
				count[p.Catalog]++
				if p.Meta == nil {
					t.Errorf("part %s: no metadata", p.Path)
					continue
				}
				if p.Meta.MinTimestamp <= 0 || p.Meta.MinTimestamp > p.Meta.MaxTimestamp || p.Meta.TotalCount == 0 {
					t.Errorf("part %s: metadata %+v", p.Path, *p.Meta)
				}
				if p.Rule != "" {
					sidx++
					if p.Path != p.Group+"/"+p.Segment+"/shard-0/sidx/"+p.Rule+"/"+p.Name {
						t.Errorf("sidx part path %s", p.Path)
					}
					continue
				}
				s, ok := segs[string(p.Catalog)+":"+p.Group+"/"+p.Segment]
				if !ok {
					t.Errorf("part %s: no segment", p.Path)
					continue
				}
				lo, hi := time.Unix(0, p.Meta.MinTimestamp), time.Unix(0, p.Meta.MaxTimestamp)
				if lo.Before(s.Start) || !hi.Before(s.End) {
					t.Errorf("part %s: %v – %v outside its segment %v – %v", p.Path, lo, hi, s.Start, s.End)
				}
			}
			if count[banyandb.Measure] != 8 || count[banyandb.Stream] != 4 || count[banyandb.Trace] != 12 || sidx != 8 {
				t.Errorf("parts per catalog %v, sidx %d; want measure 8, stream 4, trace 4+8", count, sidx)
			}
		})
	}
}

func TestScanCatalogSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ask  []banyandb.Catalog
		want []banyandb.Catalog
	}{
		{"all", nil, banyandb.AllCatalogs()},
		{"properties", []banyandb.Catalog{banyandb.SchemaProperty, banyandb.Property}, []banyandb.Catalog{banyandb.Property, banyandb.SchemaProperty}},
		{"duplicates", []banyandb.Catalog{banyandb.Trace, banyandb.Trace}, []banyandb.Catalog{banyandb.Trace}},
	}
	top := readOnlyFixture(t, fixture.V011)
	roots := banyandb.Roots{Root: filepath.Join(top, "data")}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := banyandb.Scan(context.Background(), roots, banyandb.ScanOptions{Catalogs: tc.ask, Location: time.UTC})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(l.Catalogs, tc.want) {
				t.Errorf("Catalogs = %v, want %v", l.Catalogs, tc.want)
			}
			for _, f := range l.Files {
				if !slices.Contains(tc.want, f.Catalog) {
					t.Fatalf("file of %s scanned", f.Catalog)
				}
			}
			for _, d := range l.Dirs {
				if !slices.Contains(tc.want, d.Catalog) {
					t.Fatalf("dir of %s scanned", d.Catalog)
				}
			}
		})
	}
	if _, err := banyandb.Scan(context.Background(), roots, banyandb.ScanOptions{Catalogs: []banyandb.Catalog{"metrics"}}); err == nil {
		t.Error("unknown catalog: want error")
	}
}

func TestScanOverride(t *testing.T) {
	t.Parallel()
	top := fixture.ForTest(t, fixture.V011)
	data := filepath.Join(top, "data")
	want, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: data}, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.Rename(filepath.Join(data, "trace"), filepath.Join(other, "trace")); err != nil {
		t.Fatal(err)
	}
	roots := banyandb.Roots{Root: data, Override: map[banyandb.Catalog]string{banyandb.Trace: other}}
	got, err := banyandb.Scan(context.Background(), roots, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != len(want.Files) || len(got.Parts) != len(want.Parts) || !slices.Equal(got.Catalogs, want.Catalogs) {
		t.Errorf("with trace moved: %d files %d parts %v; want %d %d %v",
			len(got.Files), len(got.Parts), got.Catalogs, len(want.Files), len(want.Parts), want.Catalogs)
	}
	// Without the override, trace is simply absent.
	got, err = banyandb.Scan(context.Background(), banyandb.Roots{Root: data}, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got.Catalogs, banyandb.Trace) {
		t.Error("trace found without its override")
	}
}

func TestScanNotRoot(t *testing.T) {
	t.Parallel()
	top := readOnlyFixture(t, fixture.V0102)
	empty := t.TempDir()
	tests := []struct {
		name  string
		roots banyandb.Roots
		hint  string
	}{
		{"empty dir", banyandb.Roots{Root: empty}, filepath.Join(empty, "measure", "data")},
		{"missing dir", banyandb.Roots{Root: filepath.Join(empty, "nope")}, "does not exist"},
		{"catalog dir given", banyandb.Roots{Root: filepath.Join(top, "data", "measure")}, "--measure-root-path"},
		{"no root", banyandb.Roots{}, "no root"},
		{"empty override only", banyandb.Roots{Override: map[banyandb.Catalog]string{banyandb.Measure: ""}}, "no root"},
		{"missing override", banyandb.Roots{Root: filepath.Join(top, "data"), Override: map[banyandb.Catalog]string{banyandb.Stream: filepath.Join(empty, "nope")}}, "nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := banyandb.Scan(context.Background(), tc.roots, banyandb.ScanOptions{})
			if !errors.Is(err, banyandb.ErrNotRoot) {
				t.Fatalf("err %v, want ErrNotRoot", err)
			}
			if !strings.Contains(err.Error(), tc.hint) || !strings.HasPrefix(err.Error(), "cannot scan ") {
				t.Errorf("error %q does not contain %q", err, tc.hint)
			}
		})
	}
}

func TestScanExclusionsAndWarnings(t *testing.T) {
	t.Parallel()
	top := fixture.ForTest(t, fixture.V011)
	data := filepath.Join(top, "data")
	seg := filepath.Join(data, "measure", "data", "bk_measure", "seg-20261119")
	write := func(rel, body string) {
		t.Helper()
		p := filepath.Join(data, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("measure/data/bk_measure/lock", "")
	write("measure/data/bk_measure/seg-20261119/sidx/bluge.pid", "1")
	write("measure/data/bk_measure/seg-20261119/shard-0/18eac4200776726b.snp.tmp", "[]")
	write("measure/data/bk_measure/seg-20261119/shard-0/0000000000000002.tmp/fv.bin", "x")
	write("measure/data/bk_measure/seg-20261119/external-segment-temp/x", "x")
	write("trace/data/bk_trace/seg-20261119/shard-0/finalize.json", "{}")
	write("measure/data/bk_measure/seg-bogus/metadata", "1.5.0")
	if err := os.Remove(filepath.Join(seg, "shard-1", "0000000000000001", "metadata.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(data, "stream", "data", "bk_stream", "seg-20261120", "metadata")); err != nil {
		t.Fatal(err)
	}

	l, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: data}, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]banyandb.File{}
	for _, f := range l.Files {
		files[string(f.Catalog)+":"+f.Path] = f
	}
	dirs := map[string]bool{}
	for _, d := range l.Dirs {
		dirs[string(d.Catalog)+":"+d.Path] = true
	}
	for _, p := range []string{
		"measure:bk_measure/lock",
		"measure:bk_measure/seg-20261119/sidx/bluge.pid",
		"measure:bk_measure/seg-20261119/shard-0/18eac4200776726b.snp.tmp",
		"measure:bk_measure/seg-20261119/shard-0/0000000000000002.tmp/fv.bin",
		"measure:bk_measure/seg-20261119/external-segment-temp/x",
	} {
		if _, ok := files[p]; ok {
			t.Errorf("%s should be left out", p)
		}
	}
	if dirs["measure:bk_measure/seg-20261119/shard-0/0000000000000002.tmp"] {
		t.Error("a .tmp directory is listed")
	}
	if !dirs["measure:bk_measure/seg-20261119/external-segment-temp"] {
		t.Error("external-segment-temp is not listed")
	}
	if f := files["trace:bk_trace/seg-20261119/shard-0/finalize.json"]; f.Kind != banyandb.KindOther || f.Shard != 0 {
		t.Errorf("finalize.json: %+v", f)
	}
	if f := files["measure:bk_measure/seg-bogus/metadata"]; f.Path == "" {
		t.Error("files of a badly named segment are not listed")
	}

	for _, p := range l.Parts {
		if p.Path == "bk_measure/seg-20261119/shard-1/0000000000000001" && p.Meta != nil {
			t.Error("part without metadata.json has Meta")
		}
	}
	for _, s := range l.Segments {
		if s.Catalog == banyandb.Stream && s.Name == "seg-20261120" {
			if s.Version != "" || s.EndKnown || !s.End.Equal(time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)) {
				t.Errorf("segment without metadata: %+v", s)
			}
		}
		if s.Name == "seg-bogus" {
			t.Error("seg-bogus listed as a segment")
		}
	}
	wantWarn := []string{"seg-bogus", "bk_measure/seg-20261119/shard-1/0000000000000001 has no metadata.json", "bk_stream/seg-20261120 has no metadata"}
	if len(l.Warnings) != len(wantWarn) {
		t.Errorf("Warnings = %q", l.Warnings)
	}
	for _, w := range wantWarn {
		if !slices.ContainsFunc(l.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no warning about %q in %q", w, l.Warnings)
		}
	}
}

func TestScanRefusesSymlinks(t *testing.T) {
	t.Parallel()
	top := fixture.ForTest(t, fixture.V011)
	data := filepath.Join(top, "data")
	link := filepath.Join(data, "stream", "data", "bk_stream", "seg-20261119", "shard-0", "link")
	if err := os.Symlink("idx", link); err != nil {
		t.Fatal(err)
	}
	_, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: data}, banyandb.ScanOptions{})
	if err == nil || !strings.Contains(err.Error(), "cannot back up symlink "+link) {
		t.Fatalf("err %v, want one about the symlink", err)
	}
}

func TestScanFollowsSymlinkedDataDir(t *testing.T) {
	t.Parallel()
	top := fixture.ForTest(t, fixture.V011)
	data := filepath.Join(top, "data")
	elsewhere := filepath.Join(t.TempDir(), "measure-data")
	if err := os.Rename(filepath.Join(data, "measure", "data"), elsewhere); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(elsewhere, filepath.Join(data, "measure", "data")); err != nil {
		t.Fatal(err)
	}
	l, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: data}, banyandb.ScanOptions{Catalogs: []banyandb.Catalog{banyandb.Measure}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Parts) != 8 || l.Files[0].Path != "bk_measure/seg-20261119/metadata" {
		t.Errorf("%d parts, first file %s", len(l.Parts), l.Files[0].Path)
	}
}

func TestScanCancelled(t *testing.T) {
	t.Parallel()
	top := readOnlyFixture(t, fixture.V011)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := banyandb.Scan(ctx, banyandb.Roots{Root: filepath.Join(top, "data")}, banyandb.ScanOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func TestScanOverridesOnly(t *testing.T) {
	t.Parallel()
	top := readOnlyFixture(t, fixture.V011)
	roots := banyandb.Roots{Override: map[banyandb.Catalog]string{banyandb.Stream: filepath.Join(top, "data")}}
	l, err := banyandb.Scan(context.Background(), roots, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l.Catalogs, []banyandb.Catalog{banyandb.Stream}) {
		t.Errorf("Catalogs = %v, want [stream]", l.Catalogs)
	}
}

// PartDirsOnly lists the same directories, parts and metadata, and every
// file but those inside part directories.
func TestScanPartDirsOnly(t *testing.T) {
	t.Parallel()
	for _, fx := range fixtures {
		t.Run(fx.name, func(t *testing.T) {
			_, all := scanFixture(t, fx.name, banyandb.ScanOptions{})
			_, dirs := scanFixture(t, fx.name, banyandb.ScanOptions{PartDirsOnly: true})
			inPart := map[string]bool{}
			for _, p := range all.Parts {
				inPart[string(p.Catalog)+":"+p.Path] = true
			}
			below := func(c banyandb.Catalog, rel string) bool {
				for d := rel; strings.Contains(d, "/"); {
					d = d[:strings.LastIndex(d, "/")]
					if inPart[string(c)+":"+d] {
						return true
					}
				}
				return false
			}
			var wantFiles, gotFiles, wantDirs, gotDirs []string
			for _, f := range all.Files {
				if !below(f.Catalog, f.Path) {
					wantFiles = append(wantFiles, string(f.Catalog)+":"+f.Path)
				}
			}
			for _, f := range dirs.Files {
				gotFiles = append(gotFiles, string(f.Catalog)+":"+f.Path)
			}
			for _, d := range all.Dirs {
				if !below(d.Catalog, d.Path) {
					wantDirs = append(wantDirs, string(d.Catalog)+":"+d.Path)
				}
			}
			for _, d := range dirs.Dirs {
				gotDirs = append(gotDirs, string(d.Catalog)+":"+d.Path)
			}
			if len(wantFiles) == len(all.Files) {
				t.Fatal("the fixture has no file inside a part directory")
			}
			if !slices.Equal(gotFiles, wantFiles) {
				t.Errorf("files:\n%v\nwant\n%v", gotFiles, wantFiles)
			}
			if !slices.Equal(gotDirs, wantDirs) {
				t.Errorf("directories:\n%v\nwant\n%v", gotDirs, wantDirs)
			}
			if len(dirs.Parts) != len(all.Parts) {
				t.Fatalf("%d parts, want %d", len(dirs.Parts), len(all.Parts))
			}
			for i, p := range dirs.Parts {
				q := all.Parts[i]
				if p.Path != q.Path || p.Meta == nil || q.Meta == nil || *p.Meta != *q.Meta {
					t.Errorf("part %d: %s %+v, want %s %+v", i, p.Path, p.Meta, q.Path, q.Meta)
				}
			}
		})
	}
}
