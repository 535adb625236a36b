package compat

import (
	"errors"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

func TestRefusals(t *testing.T) {
	target, err := ParseTarget("0.11")
	if err != nil {
		t.Fatal(err)
	}
	ok := func(c banyandb.Catalog) Decision { return Decision{Catalog: c, Allowed: true} }
	no := func(c banyandb.Catalog) Decision { return Decision{Catalog: c, Reason: "r", Hint: "h"} }
	cases := []struct {
		name    string
		ds      []Decision
		refused []banyandb.Catalog
		whole   bool
	}{
		{"all allowed", []Decision{ok(banyandb.Measure), ok(banyandb.SchemaProperty)}, nil, false},
		{"one data catalog left out", []Decision{ok(banyandb.Measure), no(banyandb.Trace), ok(banyandb.SchemaProperty)}, []banyandb.Catalog{banyandb.Trace}, false},
		{"schema refused", []Decision{ok(banyandb.Measure), no(banyandb.SchemaProperty)}, nil, true},
		{"every data catalog refused", []Decision{no(banyandb.Measure), ok(banyandb.SchemaProperty)}, nil, true},
	}
	for _, c := range cases {
		got, err := Refusals(c.ds, target)
		if c.whole {
			if !errors.Is(err, ErrIncompatible) {
				t.Errorf("%s: %v, want the whole restore refused", c.name, err)
			}
			continue
		}
		if err != nil || len(got) != len(c.refused) {
			t.Errorf("%s: refused %v, %v; want %v", c.name, got, err, c.refused)
		}
		for _, r := range c.refused {
			if got[r] != "r (h)" {
				t.Errorf("%s: %s refused with %q", c.name, r, got[r])
			}
		}
	}
}
