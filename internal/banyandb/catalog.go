// Package banyandb models the on-disk layout of an Apache SkyWalking BanyanDB
// data root: where each catalog keeps its data, how segments, shards and
// parts are named, and which files a backup must copy.
//
// Scan walks the data directories of a stopped node and returns a Layout that
// lists and classifies every file and directory; CheckNotLocked tells whether
// a server still holds the data. The package only reads: it never changes the
// data root.
package banyandb

import (
	"fmt"
	"strings"
)

// Catalog is one of the kinds of data BanyanDB stores, each under its own root.
type Catalog string

// The catalogs, named as their directories under the root.
const (
	Measure        Catalog = "measure"
	Stream         Catalog = "stream"
	Trace          Catalog = "trace"
	Property       Catalog = "property"
	SchemaProperty Catalog = "schema-property"
)

// AllCatalogs returns every catalog in a fixed order (measure, stream, trace,
// property, schema-property). The slice is new on every call.
func AllCatalogs() []Catalog {
	return []Catalog{Measure, Stream, Trace, Property, SchemaProperty}
}

// ParseCatalog returns the catalog named s (case and surrounding spaces are
// ignored).
func ParseCatalog(s string) (Catalog, error) {
	c := Catalog(strings.ToLower(strings.TrimSpace(s)))
	if c.Valid() {
		return c, nil
	}
	names := make([]string, 0, 5)
	for _, c := range AllCatalogs() {
		names = append(names, string(c))
	}
	return "", fmt.Errorf("cannot parse catalog %q: want one of %s", s, strings.Join(names, ", "))
}

// Valid reports whether c is one of the known catalogs.
func (c Catalog) Valid() bool {
	return c.order() >= 0
}

// String returns the catalog's name.
func (c Catalog) String() string { return string(c) }

// HasSegments reports whether the catalog keeps time series in segments
// (measure, stream, trace); property and schema-property keep Bluge shards.
func (c Catalog) HasSegments() bool {
	return c == Measure || c == Stream || c == Trace
}

// order is the position of c in AllCatalogs, -1 if unknown.
func (c Catalog) order() int {
	switch c {
	case Measure:
		return 0
	case Stream:
		return 1
	case Trace:
		return 2
	case Property:
		return 3
	case SchemaProperty:
		return 4
	}
	return -1
}
