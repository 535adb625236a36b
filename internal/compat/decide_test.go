package compat

import (
	"errors"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // row names; nil: error
	}{
		{"0.11", []string{"0.11"}},
		{"0.11.0", []string{"0.11"}},
		{"v0.11.0-dev", []string{"0.11"}},
		{"v0.10.2", []string{"0.10.0–0.10.2"}},
		{"0.10.0", []string{"0.10.0–0.10.2"}},
		{"0.10.3", []string{"0.10.3"}},
		{"0.10", []string{"0.10.0–0.10.2", "0.10.3"}},
		{" 0.9.1 ", []string{"0.9"}},
		{"0.7", []string{"0.7"}},
		{"0.12", nil},
		{"0.10.4", nil},
		{"0.6", nil},
		{"1.0", nil},
		{"11", nil},
		{"0.x", nil},
		{"0..1", nil},
		{"", nil},
		{"0.10.2.1", nil},
		{"0.10.-0", nil},
		{"0.+11", nil},
	} {
		got, err := ParseTarget(tc.in)
		if tc.want == nil {
			if err == nil {
				t.Errorf("ParseTarget(%q) = %v, want an error", tc.in, got.Releases())
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseTarget(%q): %v", tc.in, err)
			continue
		}
		if strings.Join(got.Releases(), "|") != strings.Join(tc.want, "|") {
			t.Errorf("ParseTarget(%q) = %v, want %v", tc.in, got.Releases(), tc.want)
		}
	}
	_, err := ParseTarget("0.12")
	if !errors.Is(err, ErrUnknownRelease) || !strings.Contains(err.Error(), "0.11") {
		t.Errorf("unknown release error %v: want ErrUnknownRelease naming the known releases", err)
	}
}

func mustTarget(t *testing.T, s string) Target {
	t.Helper()
	tg, err := ParseTarget(s)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

func TestDecide(t *testing.T) {
	all := banyandb.AllCatalogs()
	v0102 := map[banyandb.Catalog][]string{banyandb.Measure: {"1.4.0"}, banyandb.Stream: {"1.4.0"}, banyandb.Trace: {"1.4.0"}}
	v011 := map[banyandb.Catalog][]string{banyandb.Measure: {"1.5.0"}, banyandb.Stream: {"1.5.0"}, banyandb.Trace: {"1.5.0"}}
	// A 0.11 node upgraded from 0.10.2: old segments keep 1.4.0.
	upgraded := map[banyandb.Catalog][]string{banyandb.Measure: {"1.4.0", "1.5.0"}, banyandb.Stream: {"1.5.0"}, banyandb.Trace: {"1.4.0", "1.5.0"}}
	type want struct {
		refused     []banyandb.Catalog // the others allowed
		overridable []banyandb.Catalog // refused but AllowIncompatible allows them
		inReason    string             // in the first refused catalog's reason
	}
	for _, tc := range []struct {
		name   string
		segs   map[banyandb.Catalog][]string
		api    string
		target string
		want   want
	}{
		{"0.10.2 into 0.10.2", v0102, "", "0.10.2", want{}},
		{"0.10.2 into 0.10", v0102, "0.10", "0.10", want{}},
		{"0.10.2 into 0.10.3", v0102, "", "0.10.3", want{}},
		{"0.10.2 into 0.11: trace broken", v0102, "", "0.11", want{refused: []banyandb.Catalog{banyandb.Trace}, overridable: []banyandb.Catalog{banyandb.Trace}, inReason: "blockMetadata"}},
		{"0.11 into 0.11", v011, "0.10", "0.11", want{}},
		// 1.5.0 is written by 0.10.3 and 0.11 alike: the backup may be 0.11's,
		// whose schemas 0.10.3 refuses; --allow-incompatible for a backup
		// of a 0.10.3 server.
		{"0.11 into 0.10.3", v011, "", "0.10.3", want{refused: all, overridable: all, inReason: "may have been written by BanyanDB 0.11"}},
		{"0.11 answering API 0.10 into 0.10.3", v011, "0.10", "0.10.3", want{refused: all, overridable: all, inReason: "the API version cannot"}},
		{"0.11 answering API 0.11 into 0.10.3", v011, "0.11", "0.10.3",
			want{refused: all, overridable: []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace, banyandb.Property}, inReason: "written by BanyanDB 0.11 or later"}},
		{"upgraded node into 0.10.3", upgraded, "", "0.10.3", want{refused: all, overridable: all, inReason: "1.4.0, 1.5.0"}},
		{"0.10.2 answering API 0.10 into 0.11: trace broken", v0102, "0.10", "0.11", want{refused: []banyandb.Catalog{banyandb.Trace}, overridable: []banyandb.Catalog{banyandb.Trace}, inReason: "blockMetadata"}},
		{"0.11 into 0.10", v011, "", "0.10", want{refused: all, overridable: []banyandb.Catalog{banyandb.Property}, inReason: "1.5.0"}},
		{"0.11 into 0.10.2", v011, "0.10", "0.10.2", want{refused: all, overridable: []banyandb.Catalog{banyandb.Property}, inReason: "opens only 1.4.0"}},
		{"upgraded node into 0.11: old trace broken", upgraded, "", "0.11", want{refused: []banyandb.Catalog{banyandb.Trace}, overridable: []banyandb.Catalog{banyandb.Trace}, inReason: "blockMetadata"}},
		{"0.9 into 0.10", map[banyandb.Catalog][]string{banyandb.Measure: {"1.3.0"}}, "", "0.10", want{refused: []banyandb.Catalog{banyandb.Measure}, inReason: "1.3.0"}},
		{"0.9 into 0.11: skips a release", map[banyandb.Catalog][]string{banyandb.Measure: {"1.3.0"}}, "", "0.11",
			want{refused: all, inReason: "opens only 1.4.0, 1.5.0"}},
		{"unknown segment format", map[banyandb.Catalog][]string{banyandb.Stream: {"1.6.0"}}, "", "0.11", want{refused: []banyandb.Catalog{banyandb.Stream}, inReason: "unknown to this banyan-backup"}},
		{"newer API than the table", nil, "0.12", "0.11", want{refused: all, overridable: []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace, banyandb.Property}, inReason: "API version 0.12"}},
		{"nothing recorded", nil, "", "0.10.2", want{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := Input{Catalogs: all, SegmentVersions: tc.segs, APIVersion: tc.api}
			target := mustTarget(t, tc.target)
			ds := Decide(in, target, Options{})
			if len(ds) != len(all) {
				t.Fatalf("%d decisions for %d catalogs", len(ds), len(all))
			}
			first := true
			for _, d := range ds {
				refused := containsCat(tc.want.refused, d.Catalog)
				if d.Allowed == refused {
					t.Errorf("%s: allowed %v, want %v (%s; %s)", d.Catalog, d.Allowed, !refused, d.Reason, d.Hint)
				}
				if !refused {
					continue
				}
				if d.Reason == "" || d.Hint == "" {
					t.Errorf("%s refused without reason or hint: %+v", d.Catalog, d)
				}
				if first && !strings.Contains(d.Reason, tc.want.inReason) {
					t.Errorf("%s reason %q does not mention %q", d.Catalog, d.Reason, tc.want.inReason)
				}
				first = false
				if d.Overridable != containsCat(tc.want.overridable, d.Catalog) {
					t.Errorf("%s overridable %v, want %v", d.Catalog, d.Overridable, !d.Overridable)
				}
			}
			err := Err(ds, target)
			if (err != nil) != (len(tc.want.refused) > 0) || (err != nil && !errors.Is(err, ErrIncompatible)) {
				t.Errorf("Err = %v", err)
			}
			// AllowIncompatible allows exactly the overridable refusals.
			for _, d := range Decide(in, target, Options{AllowIncompatible: true}) {
				wantAllowed := !containsCat(tc.want.refused, d.Catalog) || containsCat(tc.want.overridable, d.Catalog)
				if d.Allowed != wantAllowed {
					t.Errorf("with AllowIncompatible %s allowed %v, want %v", d.Catalog, d.Allowed, wantAllowed)
				}
				if d.Overridden != (containsCat(tc.want.refused, d.Catalog) && wantAllowed) {
					t.Errorf("with AllowIncompatible %s overridden %v", d.Catalog, d.Overridden)
				}
			}
		})
	}
}

// TestDecideKeeps011DataFrom010: data that 0.11 may have written goes to no
// 0.10.x release, 0.10.3 included (docs/banyandb.md, Versions); the schema
// refusal names the reason, the hint names 0.11, and no message sends the
// data to 0.10.3.
func TestDecideKeeps011DataFrom010(t *testing.T) {
	v011 := map[banyandb.Catalog][]string{banyandb.Measure: {"1.5.0"}, banyandb.Stream: {"1.5.0"}, banyandb.Trace: {"1.5.0"}}
	for _, api := range []string{"", "0.10", "0.11"} {
		for _, target := range []string{"0.10", "0.10.0", "0.10.2", "0.10.3", "v0.10.3"} {
			in := Input{Catalogs: banyandb.AllCatalogs(), SegmentVersions: v011, APIVersion: api}
			ds := Decide(in, mustTarget(t, target), Options{})
			for _, d := range ds {
				if d.Allowed {
					t.Errorf("API %q into %s: %s allowed", api, target, d.Catalog)
				}
				for _, bad := range []string{"--target-version 0.10", "restore into BanyanDB 0.10"} {
					if strings.Contains(d.Reason+d.Hint, bad) {
						t.Errorf("API %q into %s: %s says %q: %s (%s)", api, target, d.Catalog, bad, d.Reason, d.Hint)
					}
				}
				if !strings.Contains(d.Hint, "restore into BanyanDB 0.11 or newer") {
					t.Errorf("API %q into %s: %s hint %q does not name 0.11", api, target, d.Catalog, d.Hint)
				}
				if d.Catalog == banyandb.SchemaProperty && !strings.Contains(d.Reason, `unknown field "createdAt"`) {
					t.Errorf("API %q into %s: schema reason %q does not name createdAt", api, target, d.Reason)
				}
			}
			if _, err := Refusals(ds, mustTarget(t, target)); !errors.Is(err, ErrIncompatible) {
				t.Errorf("API %q into %s: the whole restore is not refused: %v", api, target, err)
			}
		}
	}
}

func TestTargetCheckRelease(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		{"0.10.2", "1.4.0"}, {"0.10.3", "1.4.0,1.5.0"}, {"0.10", "1.4.0"}, {"0.11", "1.4.0,1.5.0"}, {"0.9", "1.3.0"},
	} {
		r := mustTarget(t, tc.target).CheckRelease()
		if got := strings.Join(r.SegmentFormats, ","); got != tc.want || r.Name != strings.TrimPrefix(tc.target, "v") {
			t.Errorf("%s: CheckRelease() = %q %q, want %q", tc.target, r.Name, got, tc.want)
		}
	}
	if r := (Target{}).CheckRelease(); r.Name != "" || r.SegmentFormats != nil {
		t.Errorf("zero Target: %+v, want the zero Release", r)
	}
}

func containsCat(cs []banyandb.Catalog, c banyandb.Catalog) bool {
	for _, x := range cs {
		if x == c {
			return true
		}
	}
	return false
}

func TestDecideWithoutTargetRefuses(t *testing.T) {
	in := Input{Catalogs: []banyandb.Catalog{banyandb.Property}}
	for _, d := range Decide(in, Target{}, Options{AllowIncompatible: true}) {
		if d.Allowed || !strings.Contains(d.Hint, "--target-version") {
			t.Errorf("zero target: %+v, want refused asking for --target-version", d)
		}
	}
}

func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"0.11", "v0.10.2", "0.10.3-rc1", "0.12", "1..2", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err == nil && len(tg.Releases()) == 0 {
			t.Fatalf("ParseTarget(%q) accepted with no release", s)
		}
	})
}
