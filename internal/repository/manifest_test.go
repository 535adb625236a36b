package repository

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage/mem"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func sampleManifest(i int) *Manifest {
	parent := Hash([]byte("parent"))
	return &Manifest{
		Format: ManifestFormat, Time: t0.Add(time.Duration(i) * time.Hour), Hostname: "node-1", ToolVersion: "0.1.0",
		Tags:     []string{"nightly"},
		Source:   Source{Type: "root", Roots: map[string]string{"measure": "/var/lib/banyandb"}},
		Parent:   &parent,
		Catalogs: []string{"measure"},
		Tree:     Hash([]byte{byte(i), byte(i >> 8)}),
		Segments: []SegmentRecord{{Catalog: "measure", Group: "bk_measure", Name: "seg-20261119",
			SegmentInfo: SegmentInfo{Start: t0, End: t0.Add(24 * time.Hour), EndKnown: true, Version: "1.5.0"}}},
		Summary: Summary{Files: 579, Dirs: 120, Bytes: 1843310, DurationSeconds: 0.05},
	}
}

func TestManifestRoundTrip(t *testing.T) {
	for _, bk := range backends() {
		t.Run(bk.name, func(t *testing.T) {
			ctx := t.Context()
			be := bk.new(t)
			r := newTestRepo(t, be, smallPacks)
			in := sampleManifest(1)
			id, n, err := r.SaveManifest(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			obj := getObject(t, be, "manifests/"+id.String())
			if Hash(obj) != id || int64(len(obj)) != n {
				t.Errorf("manifest object: hash match %v, %d bytes, SaveManifest said %d", Hash(obj) == id, len(obj), n)
			}
			if string(obj[:4]) != "BBK1" || obj[4] != kindManifest {
				t.Errorf("manifest header % x", obj[:8])
			}
			out, err := reopen(t, be).LoadManifest(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out, in) {
				t.Errorf("LoadManifest =\n%+v\nwant\n%+v", out, in)
			}
			// Saving identical content again is not an error and gives the same id.
			id2, _, err := r.SaveManifest(ctx, sampleManifest(1))
			if err != nil || id2 != id {
				t.Errorf("second SaveManifest = %s, %v; want %s", id2.Short(), err, id.Short())
			}
			if got := objects(t, be, "manifests/"); len(got) != 1 {
				t.Errorf("manifests %v, want one", got)
			}
		})
	}
}

func TestLoadManifestErrors(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	if _, err := r.LoadManifest(ctx, Hash([]byte("none"))); !errors.Is(err, ErrBackupNotFound) {
		t.Errorf("missing manifest: %v, want ErrBackupNotFound", err)
	}
	id, _, err := r.SaveManifest(ctx, sampleManifest(1))
	if err != nil {
		t.Fatal(err)
	}
	flipByte(t, be, "manifests/"+id.String(), 20)
	if _, err := r.LoadManifest(ctx, id); !errors.Is(err, ErrIntegrity) {
		t.Errorf("damaged manifest: %v, want ErrIntegrity", err)
	}
	newer := sampleManifest(2)
	newer.Format = ManifestFormat + 1
	id, _, err = r.SaveManifest(ctx, newer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.LoadManifest(ctx, id)
	if !errors.Is(err, ErrUnsupportedFormat) || !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("newer manifest: %v, want ErrUnsupportedFormat suggesting an upgrade", err)
	}
	// An index file stored under manifests/ has the wrong envelope kind.
	idx := r.codec.sealIndex(indexFile{})
	putObject(t, be, "manifests/"+Hash(idx).String(), idx)
	if _, err := r.LoadManifest(ctx, Hash(idx)); !errors.Is(err, ErrIntegrity) {
		t.Errorf("wrong kind: %v, want ErrIntegrity", err)
	}
}

func TestBackupsSortedByTime(t *testing.T) {
	ctx := t.Context()
	be := mem.New("t")
	r := newTestRepo(t, be, smallPacks)
	if bs, err := r.Backups(ctx); err != nil || len(bs) != 0 {
		t.Fatalf("Backups of an empty repository = %v, %v", bs, err)
	}
	ids := map[int]ID{}
	for _, i := range []int{5, 1, 9, 3, 7, 2} {
		id, _, err := r.SaveManifest(ctx, sampleManifest(i))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	putObject(t, be, "manifests/not-an-id", []byte("ignored")) // foreign object
	bs, err := r.Backups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, b := range bs {
		h := int(b.Time.Sub(t0) / time.Hour)
		got = append(got, h)
		if ids[h] != b.ID {
			t.Errorf("backup at hour %d has id %s, want %s", h, b.ID.Short(), ids[h].Short())
		}
	}
	if !reflect.DeepEqual(got, []int{1, 2, 3, 5, 7, 9}) {
		t.Errorf("Backups in order %v, want by time", got)
	}
	latest, err := r.FindBackup(ctx, "latest")
	if err != nil || latest.ID != ids[9] {
		t.Errorf("FindBackup(latest) = %s, %v; want %s", latest.ID.Short(), err, ids[9].Short())
	}
}

func TestFindBackup(t *testing.T) {
	ctx := t.Context()
	r := newTestRepo(t, mem.New("t"), smallPacks)
	if _, err := r.FindBackup(ctx, "latest"); !errors.Is(err, ErrBackupNotFound) {
		t.Errorf("latest in an empty repository: %v", err)
	}
	// 40 manifests: by pigeonhole, several share their first hex digit.
	var ids []string
	for i := range 40 {
		id, _, err := r.SaveManifest(ctx, sampleManifest(i))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id.String())
	}
	matches := func(p string) int {
		n := 0
		for _, s := range ids {
			if strings.HasPrefix(s, p) {
				n++
			}
		}
		return n
	}
	ambiguous := 0
	for _, id := range ids {
		// The shortest unique prefix finds it, in either case.
		k := 1
		for matches(id[:k]) > 1 {
			k++
		}
		for _, ref := range []string{id[:k], strings.ToUpper(id[:k]), id} {
			b, err := r.FindBackup(ctx, ref)
			if err != nil || b.ID.String() != id {
				t.Errorf("FindBackup(%q) = %s, %v; want %s", ref, b.ID.Short(), err, id[:8])
			}
		}
		if k > 1 {
			// One digit less matches several backups.
			ambiguous++
			ref := id[:k-1]
			_, err := r.FindBackup(ctx, ref)
			if !errors.Is(err, ErrBackupNotFound) || !strings.Contains(err.Error(), "matches") {
				t.Errorf("FindBackup(%q) with %d matches = %v; want an ambiguity error", ref, matches(ref), err)
			}
		}
	}
	if ambiguous == 0 {
		t.Fatal("no ambiguous prefix among 40 manifests")
	}
	for _, ref := range []string{"", "zz", ids[0][:10] + "x", strings.Repeat("0", 65)} {
		if matches(ref) > 0 && ref != "" {
			continue
		}
		if _, err := r.FindBackup(ctx, ref); !errors.Is(err, ErrBackupNotFound) {
			t.Errorf("FindBackup(%q) = %v, want ErrBackupNotFound", ref, err)
		}
	}
}

// TestManifestLackingParts: the optional lacking_parts field has the
// documented shape (docs/repository-format.md, Manifests), is left out when
// empty, and round-trips.
func TestManifestLackingParts(t *testing.T) {
	m := sampleManifest(2)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "lacking_parts") {
		t.Errorf("a manifest without lacking parts has the field: %s", b)
	}
	m.LackingParts = []LackingParts{{Catalog: "measure", Group: "bk_measure", Segment: "seg-20261119", Shard: 1,
		Parts: []string{"0000000000000005"}}}
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	want := `"lacking_parts":[{"catalog":"measure","group":"bk_measure","segment":"seg-20261119","shard":1,"parts":["0000000000000005"]}]`
	if !strings.Contains(string(b), want) {
		t.Errorf("manifest JSON %s lacks %s", b, want)
	}
	if got := m.LackingParts[0].ShardPath(); got != "bk_measure/seg-20261119/shard-1" {
		t.Errorf("ShardPath = %q", got)
	}
	r := newTestRepo(t, mem.New("t"), smallPacks)
	id, _, err := r.SaveManifest(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.LoadManifest(t.Context(), id)
	if err != nil || !reflect.DeepEqual(out.LackingParts, m.LackingParts) {
		t.Errorf("LoadManifest lacking parts %+v, %v; want %+v", out.LackingParts, err, m.LackingParts)
	}
}
