package snapshot

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// Short names for the tables.
const (
	me = banyandb.Measure
	st = banyandb.Stream
	tr = banyandb.Trace
	pr = banyandb.Property
	sp = banyandb.SchemaProperty
)

var requestTests = []struct {
	name     string
	catalogs []banyandb.Catalog
	groups   []string
	req      []Group
	wanted   []banyandb.Catalog
}{
	{name: "everything", wanted: []banyandb.Catalog{me, st, tr, pr, sp}},
	{name: "property groups only", catalogs: []banyandb.Catalog{pr}, groups: []string{"bk_prop"},
		wanted: []banyandb.Catalog{pr}},
	{name: "qualified property group, all catalogs", groups: []string{"property/bk_prop"},
		wanted: []banyandb.Catalog{pr, sp}},
	{name: "property and schema groups", catalogs: []banyandb.Catalog{pr, sp}, groups: []string{"bk_prop"},
		wanted: []banyandb.Catalog{pr, sp}},
	{name: "schema only", catalogs: []banyandb.Catalog{sp}, wanted: []banyandb.Catalog{sp}},
	{name: "whole measure", catalogs: []banyandb.Catalog{me}, wanted: []banyandb.Catalog{me}},
	{name: "measure group", catalogs: []banyandb.Catalog{me}, groups: []string{"bk_measure"},
		req: []Group{{me, "bk_measure"}}, wanted: []banyandb.Catalog{me}},
	{name: "measure and property groups", catalogs: []banyandb.Catalog{me, pr},
		groups: []string{"property/bk_prop", "measure/bk_measure"},
		req:    []Group{{me, "bk_measure"}, {pr, "bk_prop"}}, wanted: []banyandb.Catalog{me, pr}},
	{name: "measure group and schema", catalogs: []banyandb.Catalog{me, sp}, groups: []string{"bk_measure"},
		req: []Group{{me, "bk_measure"}, {pr, ""}}, wanted: []banyandb.Catalog{me, sp}},
	{name: "qualified groups, all catalogs", groups: []string{"stream/bk_stream", "measure/bk_measure"},
		req: []Group{{me, "bk_measure"}, {st, "bk_stream"}, {pr, ""}}, wanted: []banyandb.Catalog{me, st, sp}},
	{name: "one group, whole other catalog", catalogs: []banyandb.Catalog{me, st}, groups: []string{"measure/bk_measure"},
		wanted: []banyandb.Catalog{me, st}},
	{name: "plain group, all catalogs", groups: []string{"g"},
		req:    []Group{{me, "g"}, {st, "g"}, {tr, "g"}, {pr, ""}},
		wanted: []banyandb.Catalog{me, st, tr, pr, sp}},
	{name: "sorted and deduplicated", catalogs: []banyandb.Catalog{tr, tr}, groups: []string{"b", " a ", "a", "trace/b"},
		req: []Group{{tr, "a"}, {tr, "b"}}, wanted: []banyandb.Catalog{tr}},
	{name: "schema group", catalogs: []banyandb.Catalog{tr, sp}, groups: []string{"trace/t", "schema-property/_schema"},
		req: []Group{{tr, "t"}, {pr, ""}}, wanted: []banyandb.Catalog{tr, sp}},
}

func TestRequest(t *testing.T) {
	for _, tt := range requestTests {
		t.Run(tt.name, func(t *testing.T) {
			req, wanted, err := Request(tt.catalogs, tt.groups)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(req, tt.req) {
				t.Errorf("req = %+v, want %+v", req, tt.req)
			}
			for _, c := range banyandb.AllCatalogs() {
				want := slices.Contains(tt.wanted, c)
				if got := wanted(Taken{Catalog: c, Name: "20261123193143-00000001"}); got != want {
					t.Errorf("wanted(%s) = %v, want %v", c, got, want)
				}
			}
		})
	}
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		catalogs []banyandb.Catalog
		groups   []string
		want     string
	}{
		{catalogs: []banyandb.Catalog{"metric"}, want: `catalog "metric"`},
		{groups: []string{" "}, want: "empty name"},
		{groups: []string{"bogus/g"}, want: "cannot parse catalog"},
		{groups: []string{"measure/"}, want: "want group or catalog/group"},
		{groups: []string{"measure/a/b"}, want: "want group or catalog/group"},
		{catalogs: []banyandb.Catalog{me}, groups: []string{"stream/s"}, want: "catalog stream is not selected"},
		{catalogs: []banyandb.Catalog{sp}, groups: []string{"g"}, want: "no selected catalog has groups"},
	}
	for _, tt := range tests {
		_, _, err := Request(tt.catalogs, tt.groups)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Request(%v, %q) error = %v, want %q", tt.catalogs, tt.groups, err, tt.want)
		}
	}
}

// checkRequests asks c for the requests of the table and checks that every
// wanted catalog is answered, with a good snapshot, then removes them all.
func checkRequests(t *testing.T, c Client, roots banyandb.Roots) {
	for _, tt := range requestTests {
		if slices.ContainsFunc(tt.groups, func(g string) bool { return !strings.Contains(g, "bk_") }) {
			continue // groups the fixture does not have
		}
		t.Run(tt.name, func(t *testing.T) {
			req, wanted, err := Request(tt.catalogs, tt.groups)
			if err != nil {
				t.Fatal(err)
			}
			taken, err := c.Snapshot(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := Remove(roots, taken); err != nil {
					t.Error(err)
				}
			}()
			got := map[banyandb.Catalog]bool{}
			for _, tk := range taken {
				if wanted(tk) && !tk.Failed() {
					got[tk.Catalog] = true
				}
			}
			for _, c := range tt.wanted {
				if !got[c] {
					t.Errorf("no %s snapshot for request %+v: %+v", c, req, taken)
				}
			}
		})
	}
}
