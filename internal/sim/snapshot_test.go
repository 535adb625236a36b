package sim

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// nameRE is the form of a snapshot name: <UTC YYYYMMDDhhmmss>-<8 hex>.
var nameRE = regexp.MustCompile(`^\d{14}-[0-9a-f]{8}$`)

// wantAll checks an answer to an empty request: schema-property, property,
// measure, stream, trace, all one name, no error; it returns the name.
func wantAll(t *testing.T, resp *databasev1.SnapshotResponse) string {
	t.Helper()
	want := []commonv1.Catalog{commonv1.Catalog_CATALOG_PROPERTY, commonv1.Catalog_CATALOG_PROPERTY,
		commonv1.Catalog_CATALOG_MEASURE, commonv1.Catalog_CATALOG_STREAM, commonv1.Catalog_CATALOG_TRACE}
	if len(resp.Snapshots) != len(want) {
		t.Fatalf("got %d snapshots, want %d: %v", len(resp.Snapshots), len(want), resp)
	}
	name := resp.Snapshots[1].Name
	if !nameRE.MatchString(name) {
		t.Fatalf("snapshot name %q is not <YYYYMMDDhhmmss>-<8 hex>", name)
	}
	for i, sn := range resp.Snapshots {
		wantName := name
		if i == 0 {
			wantName = SchemaSnapshotPrefix + name
		}
		if sn.Catalog != want[i] || sn.Name != wantName || sn.Error != "" {
			t.Errorf("snapshot %d = %v, want catalog %v name %q and no error", i, sn, want[i], wantName)
		}
	}
	return name
}

// checkSnapshotMatchesData checks the snapshot name of every catalog
// against the data it was taken from (no change since): docs/banyandb.md, Snapshots.
func checkSnapshotMatchesData(t *testing.T, root, name string) {
	t.Helper()
	roots := banyandb.Roots{Root: root}
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		data, snap := roots.DataDir(c), filepath.Join(roots.SnapshotsDir(c), name)
		for _, g := range listNames(t, data, fs.DirEntry.IsDir) {
			segs := listNames(t, filepath.Join(data, g), func(e fs.DirEntry) bool {
				return strings.HasPrefix(e.Name(), "seg-") && isRegular(filepath.Join(data, g, e.Name(), "metadata"))
			})
			if len(segs) == 0 {
				if isDir(filepath.Join(snap, g)) {
					t.Errorf("%s: empty group %s in the snapshot", c, g)
				}
				continue
			}
			for _, seg := range segs {
				checkSegment(t, c, filepath.Join(data, g, seg), filepath.Join(snap, g, seg))
			}
		}
	}
	for _, c := range []banyandb.Catalog{banyandb.Property, banyandb.SchemaProperty} {
		data, snap := roots.DataDir(c), filepath.Join(roots.SnapshotsDir(c), name, "data")
		for _, g := range listNames(t, data, fs.DirEntry.IsDir) {
			for _, sh := range listNames(t, filepath.Join(data, g), fs.DirEntry.IsDir) {
				checkCopies(t, filepath.Join(data, g, sh), filepath.Join(snap, g, sh))
			}
		}
	}
	for _, c := range banyandb.AllCatalogs() {
		checkNoServerFiles(t, filepath.Join(roots.SnapshotsDir(c), name))
	}
}

// checkSegment checks one segment of a snapshot against its data.
func checkSegment(t *testing.T, c banyandb.Catalog, data, snap string) {
	t.Helper()
	wantLink(t, filepath.Join(data, "metadata"), filepath.Join(snap, "metadata"))
	if len(listNames(t, filepath.Join(data, "sidx"), func(fs.DirEntry) bool { return true })) == 0 {
		b, err := os.ReadFile(filepath.Join(snap, "sidx", "000000000000.snp"))
		if err != nil || !bytes.Equal(b, []byte{3, 0, 0x6a, 0xf4, 0x41, 0x3c}) {
			t.Errorf("%s: empty index snapshot is %x, %v; want the 6 bytes a server writes", snap, b, err)
		}
	} else {
		checkCopies(t, filepath.Join(data, "sidx"), filepath.Join(snap, "sidx"))
	}
	for _, sh := range listNames(t, data, func(e fs.DirEntry) bool { return strings.HasPrefix(e.Name(), "shard-") }) {
		d, s := filepath.Join(data, sh), filepath.Join(snap, sh)
		snpName, _, parts, err := newestSnp(d)
		if err != nil || snpName == "" {
			t.Fatalf("%s: no part list: %v", d, err)
		}
		if got := snpFilesIn(t, s); !slices.Equal(got, []string{snpName}) {
			t.Errorf("%s: part lists %v, want only a fresh %s", s, got, snpName)
		}
		wantCopy(t, filepath.Join(d, snpName), filepath.Join(s, snpName))
		slices.Sort(parts)
		if got := partDirsIn(t, s); !slices.Equal(got, parts) {
			t.Errorf("%s: parts %v, want those of the .snp %v", s, got, parts)
		}
		for _, p := range parts {
			checkLinks(t, filepath.Join(d, p), filepath.Join(s, p))
		}
		switch c {
		case banyandb.Stream:
			checkCopies(t, filepath.Join(d, "idx"), filepath.Join(s, "idx"))
		case banyandb.Trace:
			for _, rule := range listNames(t, filepath.Join(d, "sidx"), fs.DirEntry.IsDir) {
				for _, p := range partDirsIn(t, filepath.Join(d, "sidx", rule)) {
					checkLinks(t, filepath.Join(d, "sidx", rule, p), filepath.Join(s, "sidx", rule, p))
				}
			}
		}
	}
}

// checkLinks wants every file of the part data hard-linked in snap.
func checkLinks(t *testing.T, data, snap string) {
	t.Helper()
	files := listNames(t, data, func(e fs.DirEntry) bool { return e.Type().IsRegular() })
	if got := listNames(t, snap, func(fs.DirEntry) bool { return true }); !slices.Equal(got, files) {
		t.Errorf("%s holds %v, want %v", snap, got, files)
	}
	for _, f := range files {
		wantLink(t, filepath.Join(data, f), filepath.Join(snap, f))
	}
}

// checkCopies wants every file of an index directory but bluge.pid copied.
func checkCopies(t *testing.T, data, snap string) {
	t.Helper()
	for _, f := range listNames(t, data, func(e fs.DirEntry) bool { return e.Type().IsRegular() && e.Name() != "bluge.pid" }) {
		wantCopy(t, filepath.Join(data, f), filepath.Join(snap, f))
	}
}

// wantLink wants snap to be a hard link of data, with link count 2.
func wantLink(t *testing.T, data, snap string) {
	t.Helper()
	di, _ := inode(t, data)
	si, n := inode(t, snap)
	if di != si || n != 2 {
		t.Errorf("%s: inode %d links %d, want a hard link of %s (inode %d) with 2 links", snap, si, n, data, di)
	}
}

// wantCopy wants snap to be a copy of data: same bytes, another inode; a
// Bluge .seg is written anew: its bytes but the last 4, which differ.
func wantCopy(t *testing.T, data, snap string) {
	t.Helper()
	di, _ := inode(t, data)
	si, n := inode(t, snap)
	if di == si || n != 1 {
		t.Errorf("%s: inode %d links %d, want a copy of %s", snap, si, n, data)
	}
	if !strings.HasSuffix(data, ".seg") {
		sameContent(t, data, snap)
		return
	}
	x, y := readAll(t, data), readAll(t, snap)
	if len(x) != len(y) || len(x) < 4 || !bytes.Equal(x[:len(x)-4], y[:len(y)-4]) || bytes.Equal(x[len(x)-4:], y[len(y)-4:]) {
		t.Errorf("%s is not %s written anew (same bytes but the last 4, which differ)", snap, data)
	}
}

func readAll(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSnapshotsWriteBlugeSegsTheSameEveryTime: two snapshots of an
// unchanged index hold byte-identical copies of each .seg, as a real
// server's do (docs/banyandb.md, Snapshots).
func TestSnapshotsWriteBlugeSegsTheSameEveryTime(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	var names []string
	for range 2 {
		resp, err := grpcClient(t, s).Snapshot(context.Background(), &databasev1.SnapshotRequest{})
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, wantAll(t, resp))
	}
	segs := 0
	first := filepath.Join(s.Root(), "stream", "snapshots", names[0])
	err := filepath.WalkDir(first, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(p, ".seg") {
			return err
		}
		rel, _ := filepath.Rel(first, p)
		sameContent(t, p, filepath.Join(s.Root(), "stream", "snapshots", names[1], rel))
		segs++
		return nil
	})
	if err != nil || segs == 0 {
		t.Fatalf("compared %d .seg files: %v", segs, err)
	}
}

// checkNoServerFiles wants no lock, bluge.pid, external-segment-temp or
// temporary file in a snapshot.
func checkNoServerFiles(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n := d.Name(); n == "lock" || n == "bluge.pid" || n == "external-segment-temp" || strings.HasSuffix(n, ".tmp") {
			t.Errorf("snapshot holds %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestSnapshotGRPCLayout(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	resp, err := grpcClient(t, s).Snapshot(context.Background(), &databasev1.SnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	name := wantAll(t, resp)
	checkSnapshotMatchesData(t, s.Root(), name)
	// The property catalogs keep the extra data/ level.
	for _, p := range []string{"property/snapshots/" + name + "/data/bk_prop/shard-0",
		"schema-property/snapshots/" + name + "/data/_schema/shard-0"} {
		if !isDir(filepath.Join(s.Root(), p)) {
			t.Errorf("missing %s", p)
		}
	}
	// The layout model sees complete, valid trees.
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		if l := scanAs(t, c, filepath.Join(s.Root(), string(c), "snapshots", name)); len(l.Warnings) > 0 || len(l.Parts) == 0 {
			t.Errorf("%s snapshot: %d parts, warnings %v", c, len(l.Parts), l.Warnings)
		}
	}
	// A second snapshot gets the next sequence number.
	resp2, err := grpcClient(t, s).Snapshot(context.Background(), &databasev1.SnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if name2 := wantAll(t, resp2); !strings.HasSuffix(name2, "-00000002") || !strings.HasSuffix(name, "-00000001") {
		t.Errorf("names %s then %s, want sequence 1 then 2", name, name2)
	}
}

func TestSnapshotHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	for i, method := range []string{http.MethodPost, http.MethodGet} {
		body := "{}"
		if method == http.MethodGet {
			body = ""
		}
		code, got := httpDo(t, s, method, "/api/v1/snapshot", body)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", method, code, got)
		}
		name := strings.TrimPrefix(regexp.MustCompile(`"name":"(\d{14}-[0-9a-f]{8})"`).FindString(got), `"name":`)
		name = strings.Trim(name, `"`)
		want := fmt.Sprintf(`{"snapshots":[{"catalog":"CATALOG_PROPERTY","name":"schema-property/%[1]s","error":""},`+
			`{"catalog":"CATALOG_PROPERTY","name":"%[1]s","error":""},{"catalog":"CATALOG_MEASURE","name":"%[1]s","error":""},`+
			`{"catalog":"CATALOG_STREAM","name":"%[1]s","error":""},{"catalog":"CATALOG_TRACE","name":"%[1]s","error":""}]}`, name)
		if got != want || !strings.HasSuffix(name, fmt.Sprintf("-%08x", i+1)) {
			t.Errorf("%s answer\n%s\nwant\n%s", method, got, want)
		}
		if i == 0 {
			checkSnapshotMatchesData(t, s.Root(), name)
		}
	}

	code, got := httpDo(t, s, http.MethodPost, "/api/v1/snapshot", `{"groups":[{"catalog":"CATALOG_MEASURE","group":"bk_measure"}]}`)
	if code != http.StatusOK || !regexp.MustCompile(`^\{"snapshots":\[\{"catalog":"CATALOG_MEASURE","name":"\d{14}-00000003","error":""\}\]\}$`).MatchString(got) {
		t.Errorf("measure only: %d %s", code, got)
	}
	if code, got := httpDo(t, s, http.MethodPost, "/api/v1/snapshot", `{"groups":`); code != http.StatusBadRequest {
		t.Errorf("bad JSON: %d %s", code, got)
	}
	if code, got := httpDo(t, s, http.MethodGet, "/api/v1/common/api/version", ""); code != http.StatusOK ||
		got != `{"version":{"version":"0.11","revision":"sim"}}` {
		t.Errorf("version: %d %s", code, got)
	}
	if code, got := httpDo(t, s, http.MethodGet, "/api/healthz", ""); code != http.StatusOK || got != "SERVING" {
		t.Errorf("healthz: %d %q", code, got)
	}
}

func TestSnapshotGroupsAndQuirk(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	c := grpcClient(t, s)
	ctx := context.Background()
	group := func(cat commonv1.Catalog, g string) *databasev1.SnapshotRequest_Group {
		return &databasev1.SnapshotRequest_Group{Catalog: cat, Group: g}
	}

	// Only property groups: no property snapshot at all (0.11 dev quirk).
	resp, err := c.Snapshot(ctx, &databasev1.SnapshotRequest{Groups: []*databasev1.SnapshotRequest_Group{
		group(commonv1.Catalog_CATALOG_PROPERTY, "bk_prop")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Snapshots) != 0 {
		t.Errorf("property-only request answered %v, want no snapshot", resp)
	}
	if isDir(filepath.Join(s.Root(), "property", "snapshots")) {
		t.Error("property-only request made a property snapshot directory")
	}

	// Property with a stream group: schema, property and stream.
	resp, err = c.Snapshot(ctx, &databasev1.SnapshotRequest{Groups: []*databasev1.SnapshotRequest_Group{
		group(commonv1.Catalog_CATALOG_PROPERTY, "bk_prop"), group(commonv1.Catalog_CATALOG_STREAM, "bk_stream")}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sn := range resp.Snapshots {
		got = append(got, sn.Catalog.String()+" "+strings.SplitN(sn.Name, "/", 2)[0])
	}
	want := []string{"CATALOG_PROPERTY schema-property", "CATALOG_PROPERTY " + resp.Snapshots[1].Name, "CATALOG_STREAM " + resp.Snapshots[1].Name}
	if !slices.Equal(got, want) {
		t.Errorf("property+stream answered %v, want %v", got, want)
	}
	name := resp.Snapshots[1].Name
	if g := listNames(t, filepath.Join(s.Root(), "stream", "snapshots", name), fs.DirEntry.IsDir); !slices.Equal(g, []string{"bk_stream"}) {
		t.Errorf("stream snapshot groups %v", g)
	}
	if isDir(filepath.Join(s.Root(), "measure", "snapshots", name)) {
		t.Error("measure snapshot made although not asked for")
	}

	// A named group that does not exist: the snapshot is named, without an
	// error, but it has no group and so no directory.
	resp, err = c.Snapshot(ctx, &databasev1.SnapshotRequest{Groups: []*databasev1.SnapshotRequest_Group{
		group(commonv1.Catalog_CATALOG_MEASURE, "nope")}})
	if err != nil || len(resp.Snapshots) != 1 || resp.Snapshots[0].Error != "" || resp.Snapshots[0].Name == "" {
		t.Fatalf("unknown group: %v, %v", resp, err)
	}
	if p := filepath.Join(s.Root(), "measure", "snapshots", resp.Snapshots[0].Name); isDir(p) {
		t.Errorf("unknown group snapshot made %s", p)
	}
}

// TestSnapshotOfCatalogsWithoutGroups: a catalog without groups is named in
// the answer without an error, but gets no snapshot directory
// (docs/banyandb.md, Snapshots); the other catalogs get theirs.
func TestSnapshotOfCatalogsWithoutGroups(t *testing.T) {
	t.Parallel()
	root := newTestRoot(t)
	if err := os.RemoveAll(filepath.Join(root, "property", "data", "bk_prop")); err != nil {
		t.Fatal(err)
	}
	s := startWith(t, testConfig(root))
	for _, api := range []string{"grpc", "http"} {
		var name string
		if api == "grpc" {
			resp, err := grpcClient(t, s).Snapshot(context.Background(), &databasev1.SnapshotRequest{})
			if err != nil {
				t.Fatal(err)
			}
			name = wantAll(t, resp)
		} else {
			code, body := httpDo(t, s, http.MethodPost, "/api/v1/snapshot", "{}")
			m := regexp.MustCompile(`\{"catalog":"CATALOG_PROPERTY","name":"(\d{14}-[0-9a-f]{8})","error":""\}`).FindStringSubmatch(body)
			if code != http.StatusOK || m == nil {
				t.Fatalf("%d %s: want a property snapshot named without an error", code, body)
			}
			name = m[1]
		}
		if p := filepath.Join(s.Root(), "property", "snapshots", name); isDir(p) {
			t.Errorf("%s: the property catalog has no group, but its snapshot made %s", api, p)
		}
		for _, c := range []string{"schema-property", "measure", "stream", "trace"} {
			if !isDir(filepath.Join(s.Root(), c, "snapshots", name)) {
				t.Errorf("%s: no %s snapshot directory", api, c)
			}
		}
	}
	if st := s.Stats(); st.SnapshotsTaken != 8 || st.Errors != 0 {
		t.Errorf("stats %+v: want 8 catalog snapshot directories (4 per call), no error", st)
	}
}

func TestGetAPIVersion(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *Config) { c.APIVersion, c.APIRevision = "0.10", "3b4e4d973" })
	resp, err := commonv1.NewServiceClient(grpcConn(t, s)).GetAPIVersion(context.Background(), &commonv1.GetAPIVersionRequest{})
	if err != nil {
		t.Fatal(err)
	}
	want := &commonv1.GetAPIVersionResponse{Version: &commonv1.APIVersion{Version: "0.10", Revision: "3b4e4d973"}}
	if !proto.Equal(resp, want) {
		t.Errorf("got %v, want %v", resp, want)
	}
}

func TestPlanSnapshot(t *testing.T) {
	t.Parallel()
	g := func(c commonv1.Catalog, name string) *databasev1.SnapshotRequest_Group {
		return &databasev1.SnapshotRequest_Group{Catalog: c, Group: name}
	}
	for _, tc := range []struct {
		groups []*databasev1.SnapshotRequest_Group
		want   string
	}{
		{nil, "schema-property:* property:* measure:* stream:* trace:*"},
		{[]*databasev1.SnapshotRequest_Group{g(commonv1.Catalog_CATALOG_PROPERTY, "p")}, ""},
		{[]*databasev1.SnapshotRequest_Group{g(commonv1.Catalog_CATALOG_TRACE, "t"), g(commonv1.Catalog_CATALOG_PROPERTY, "p")},
			"schema-property:* property:p trace:t"},
		{[]*databasev1.SnapshotRequest_Group{g(commonv1.Catalog_CATALOG_MEASURE, ""), g(commonv1.Catalog_CATALOG_MEASURE, "m")}, "measure:*"},
		{[]*databasev1.SnapshotRequest_Group{g(commonv1.Catalog_CATALOG_UNSPECIFIED, "x")}, ""},
	} {
		var parts []string
		for _, tg := range planSnapshot(&databasev1.SnapshotRequest{Groups: tc.groups}) {
			groups := "*"
			if tg.groups != nil {
				var names []string
				for n := range tg.groups {
					names = append(names, n)
				}
				slices.Sort(names)
				groups = strings.Join(names, ",")
			}
			parts = append(parts, string(tg.catalog)+":"+groups)
		}
		if got := strings.Join(parts, " "); got != tc.want {
			t.Errorf("plan(%v) = %q, want %q", tc.groups, got, tc.want)
		}
	}
}
