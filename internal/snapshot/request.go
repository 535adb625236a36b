package snapshot

import (
	"fmt"
	"slices"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// Request returns the groups to ask a node for, given the user's selection,
// and wanted, which tells which of the node's answers belong to it.
//
// catalogs are the selected catalogs (none: all five). groups are the
// selected groups (none: every group), each either "group", for every
// selected catalog among measure, stream, trace and property, or
// "catalog/group". A selected catalog that no group applies to is selected
// whole; schema-property (whose one group is _schema) is always whole.
//
// What a node does (BanyanDB 0.10 and 0.11, docs/banyandb.md, Snapshots): measure, stream and
// trace snapshot only the groups named (an empty name names none), all of
// them when the request is empty. Property and schema-property are taken,
// with every group, only when the request is empty or names a group of
// another catalog: a request naming only property groups produces no
// property snapshot. Hence req is empty (everything) when measure, stream
// or trace is selected whole, or when only property or schema-property is;
// otherwise it names the selected measure, stream and trace groups and the
// property groups, or {property, ""} when property is selected whole or the
// schema is selected. Either way the node may answer more than was asked:
// the caller keeps the snapshots wanted accepts and removes the others, and
// keeps only the selected groups of the property snapshot.
func Request(catalogs []banyandb.Catalog, groups []string) (req []Group, wanted func(Taken) bool, err error) {
	sel := map[banyandb.Catalog]bool{}
	for _, c := range catalogs {
		if !c.Valid() {
			return nil, nil, fmt.Errorf("cannot select catalog %q: want one of measure, stream, trace, property, schema-property", c)
		}
		sel[c] = true
	}
	explicit := len(sel) > 0
	if !explicit {
		for _, c := range banyandb.AllCatalogs() {
			sel[c] = true
		}
	}
	whole := map[banyandb.Catalog]bool{}
	named := map[banyandb.Catalog][]string{}
	add := func(c banyandb.Catalog, g string) {
		if !slices.Contains(named[c], g) {
			named[c] = append(named[c], g)
		}
	}
	for _, raw := range groups {
		g := strings.TrimSpace(raw)
		cat, name, qualified := strings.Cut(g, "/")
		if !qualified {
			if g == "" {
				return nil, nil, fmt.Errorf("cannot select group %q: empty name", raw)
			}
			applied := false
			for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace, banyandb.Property} {
				if sel[c] {
					add(c, g)
					applied = true
				}
			}
			if !applied {
				return nil, nil, fmt.Errorf("cannot select group %q: no selected catalog has groups of its own", raw)
			}
			continue
		}
		c, err := banyandb.ParseCatalog(cat)
		if err != nil {
			return nil, nil, fmt.Errorf("cannot select group %q: %w", raw, err)
		}
		switch {
		case name == "" || strings.Contains(name, "/"):
			return nil, nil, fmt.Errorf("cannot select group %q: want group or catalog/group", raw)
		case explicit && !sel[c]:
			return nil, nil, fmt.Errorf("cannot select group %q: catalog %s is not selected", raw, c)
		case c == banyandb.SchemaProperty:
			whole[c] = true
		default:
			add(c, name)
		}
	}
	for c := range sel {
		if c == banyandb.SchemaProperty || (len(named[c]) == 0 && (len(groups) == 0 || explicit)) {
			whole[c] = true
		}
	}
	want := map[banyandb.Catalog]bool{}
	for c := range whole {
		want[c] = true
	}
	for c := range named {
		want[c] = true
	}
	wanted = func(t Taken) bool { return want[t.Catalog] }
	return buildRequest(whole, named), wanted, nil
}

// buildRequest returns the groups to ask for (nil: everything) for the
// catalogs selected whole and the groups named, as Request explains.
func buildRequest(whole map[banyandb.Catalog]bool, named map[banyandb.Catalog][]string) []Group {
	segments := []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace}
	var req []Group
	for _, c := range segments {
		if whole[c] {
			return nil // no way to name a whole catalog but asking for everything
		}
		gs := slices.Clone(named[c])
		slices.Sort(gs)
		for _, g := range gs {
			req = append(req, Group{Catalog: c, Name: g})
		}
	}
	if len(req) == 0 {
		return nil // only property or schema-property: the quirk
	}
	if whole[banyandb.Property] || whole[banyandb.SchemaProperty] {
		return append(req, Group{Catalog: banyandb.Property})
	}
	gs := slices.Clone(named[banyandb.Property])
	slices.Sort(gs)
	for _, g := range gs {
		req = append(req, Group{Catalog: banyandb.Property, Name: g})
	}
	return req
}
