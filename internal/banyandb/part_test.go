package banyandb_test

import (
	"slices"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

func TestIsPartName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"0000000000000001", true},
		{"18eac4200776726a", true},
		{"18EAC4200776726A", false},
		{"000000000000001", false},
		{"00000000000000001", false},
		{"000000000000000g", false},
		{"000000000003.snp", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := banyandb.IsPartName(tc.in); got != tc.want {
			t.Errorf("IsPartName(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestSnpEpoch(t *testing.T) {
	tests := []struct {
		in    string
		epoch uint64
		ok    bool
	}{
		{"18eac4200776726a.snp", 0x18eac4200776726a, true},
		{"0000000000000002.snp", 2, true},
		{"000000000003.snp", 0, false}, // a Bluge snapshot, not a part list
		{"18eac4200776726a", 0, false},
		{"18eac4200776726a.snp.tmp", 0, false},
	}
	for _, tc := range tests {
		epoch, ok := banyandb.SnpEpoch(tc.in)
		if epoch != tc.epoch || ok != tc.ok {
			t.Errorf("SnpEpoch(%q) = %d, %v; want %d, %v", tc.in, epoch, ok, tc.epoch, tc.ok)
		}
	}
}

func TestParseSnp(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{`["0000000000000001"]`, []string{"0000000000000001"}, true},
		{`["0000000000000001","00000000000000a2"]`, []string{"0000000000000001", "00000000000000a2"}, true},
		{`[]`, []string{}, true},
		{`null`, []string{}, true},
		{`["x"]`, nil, false},
		{`{}`, nil, false},
		{"\x03\x01", nil, false},
	}
	for _, tc := range tests {
		got, err := banyandb.ParseSnp([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && !slices.Equal(got, tc.want)) || (tc.ok && got == nil) {
			t.Errorf("ParseSnp(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParsePartMetadata(t *testing.T) {
	m, err := banyandb.ParsePartMetadata([]byte(`{"compressedSizeBytes":1828,"uncompressedSizeBytes":16434,"totalCount":288,"blocksCount":2,"minTimestamp":1795046400000000000,"maxTimestamp":1795132200000000000}`))
	if err != nil {
		t.Fatal(err)
	}
	want := banyandb.PartMetadata{CompressedSizeBytes: 1828, UncompressedSizeBytes: 16434, TotalCount: 288, BlocksCount: 2,
		MinTimestamp: 1795046400000000000, MaxTimestamp: 1795132200000000000}
	if *m != want {
		t.Errorf("ParsePartMetadata = %+v, want %+v", *m, want)
	}
	m, err = banyandb.ParsePartMetadata([]byte(`{"compressedSizeBytes":46096,"uncompressedSpanSizeBytes":54160,"totalCount":360,"blocksCount":120,"minTimestamp":1,"maxTimestamp":2}`))
	if err != nil || m.UncompressedSpanSizeBytes != 54160 {
		t.Errorf("trace part metadata: %+v, %v", m, err)
	}
	for _, bad := range []string{``, `[]`, `{"minTimestamp":3,"maxTimestamp":2}`, `{"totalCount":-1}`} {
		if _, err := banyandb.ParsePartMetadata([]byte(bad)); err == nil {
			t.Errorf("ParsePartMetadata(%q): want error", bad)
		}
	}
}
