package banyandb_test

// Fuzz targets of the parsers of BanyanDB's files (docs/banyandb.md): a
// data root, or a backup's copy of one, may hold anything. Each asserts
// what its parser promises: an error, or a value that is valid and that
// the file's own format writes back to the same value; and memory in
// proportion to the input. scripts/test.sh fuzzes each for a few seconds;
// go test replays the seeds and testdata/fuzz/<target>/ (files of the
// fixtures among them).

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/allocs"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// checkAllocs fails when a parser allocated more than limit bytes (plus
// the measurement's slack).
func checkAllocs(t *testing.T, got uint64, limit int) {
	t.Helper()
	if got > uint64(limit)+allocs.Slack {
		t.Fatalf("allocated %d bytes, more than %d for this input", got, limit)
	}
}

func FuzzParseSnp(f *testing.F) {
	for _, s := range []string{`["0000000000000001"]`, `[]`, `["0000000000000001","18eac4200776726a"]`, `null`, `["X"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var names []string
		var err error
		checkAllocs(t, allocs.Bytes(func() { names, err = banyandb.ParseSnp(data) }), 64*len(data))
		if err != nil {
			return
		}
		if names == nil {
			t.Fatal("accepted part list is nil")
		}
		for _, n := range names {
			if !banyandb.IsPartName(n) {
				t.Fatalf("accepted part name %q", n)
			}
		}
		// A restore writes a shard's new .snp as JSON of the names.
		out, err := json.Marshal(names)
		if err != nil {
			t.Fatal(err)
		}
		back, err := banyandb.ParseSnp(out)
		if err != nil || !slices.Equal(back, names) {
			t.Fatalf("part list changes on a round trip: %q → %s → %q, %v", names, out, back, err)
		}
	})
}

func FuzzSnpEpoch(f *testing.F) {
	for _, s := range []string{"18eac4200776726a.snp", "0000000000000002.snp", "000000000003.snp", "18EAC4200776726A.snp", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		epoch, ok := banyandb.SnpEpoch(name)
		if ok != (fmt.Sprintf("%016x.snp", epoch) == name) {
			t.Fatalf("SnpEpoch(%q) = %d, %v", name, epoch, ok)
		}
	})
}

// versionRE is a segment format version: two or three numbers.
var versionRE = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?$`)

func FuzzParseSegmentMetadata(f *testing.F) {
	for _, s := range []string{"1.4.0", "1.4.0\n", `{"version":"1.5.0","endTime":"2026-11-23T00:00:00Z"}`, `{"version":"1.5.0"}`, `{"version":"1.5.0","endTime":"x"}`, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var version string
		var end time.Time
		var hasEnd bool
		var err error
		checkAllocs(t, allocs.Bytes(func() { version, end, hasEnd, err = banyandb.ParseSegmentMetadata(data) }), 64*len(data))
		if err != nil {
			return
		}
		if !versionRE.MatchString(version) || hasEnd == end.IsZero() {
			t.Fatalf("accepted version %q, end %v (%v)", version, end, hasEnd)
		}
		// Written back in the form of its format: plain text before
		// 1.5.0, JSON from then on.
		out := []byte(version)
		if hasEnd {
			out, err = json.Marshal(map[string]string{"version": version, "endTime": end.Format(time.RFC3339Nano)})
			if err != nil {
				t.Fatal(err)
			}
		}
		v2, end2, hasEnd2, err := banyandb.ParseSegmentMetadata(out)
		if err != nil || v2 != version || !end2.Equal(end) || hasEnd2 != hasEnd {
			t.Fatalf("segment metadata changes on a round trip: %s → %q %v, %v", out, v2, end2, err)
		}
	})
}

func FuzzParsePartMetadata(f *testing.F) {
	for _, s := range []string{
		`{"compressedSizeBytes":2623,"uncompressedSizeBytes":24651,"totalCount":432,"blocksCount":3,"minTimestamp":1795305600000000000,"maxTimestamp":1795391400000000000}`,
		`{"minTimestamp":2,"maxTimestamp":1}`, `{}`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var m *banyandb.PartMetadata
		var err error
		checkAllocs(t, allocs.Bytes(func() { m, err = banyandb.ParsePartMetadata(data) }), 64*len(data))
		if err != nil {
			if m != nil {
				t.Fatalf("metadata %+v returned with error %v", m, err)
			}
			return
		}
		if m.MinTimestamp > m.MaxTimestamp {
			t.Fatalf("accepted minTimestamp %d after maxTimestamp %d", m.MinTimestamp, m.MaxTimestamp)
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		back, err := banyandb.ParsePartMetadata(out)
		if err != nil || *back != *m {
			t.Fatalf("part metadata changes on a round trip: %+v → %s → %+v, %v", m, out, back, err)
		}
	})
}

func FuzzParseSegmentName(f *testing.F) {
	for _, s := range []string{"seg-20261119", "seg-2026111907", "seg-20261332", "seg-2026111925", "seg-+2026111", "seg-٢٠٢٦١١١٩"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		start, unit, err := banyandb.ParseSegmentName(name, time.UTC)
		if err != nil {
			return
		}
		layout := map[time.Duration]string{24 * time.Hour: "20060102", time.Hour: "2006010215"}[unit]
		if layout == "" {
			t.Fatalf("ParseSegmentName(%q): unit %v", name, unit)
		}
		// The server names a segment by formatting its start.
		if got := banyandb.SegmentPrefix + start.Format(layout); got != name {
			t.Fatalf("ParseSegmentName(%q) = %v, which the server names %q", name, start, got)
		}
	})
}
