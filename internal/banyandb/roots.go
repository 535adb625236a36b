package banyandb

import "path/filepath"

// Roots says where each catalog's root is: the directory given to the server
// as --measure-root-path, --stream-root-path and so on, which holds
// <catalog>/data and <catalog>/snapshots. Root applies to every catalog not
// named in Override.
//
// Data, when it names a catalog, is that catalog's data directory itself,
// wherever it is: the server's --<catalog>-data-path, or a snapshot
// directory standing in for data/ during a live backup.
type Roots struct {
	Root     string
	Override map[Catalog]string
	Data     map[Catalog]string
}

// CatalogRoot returns the root of catalog c: its override if set, else Root.
func (r Roots) CatalogRoot(c Catalog) string {
	if p, ok := r.Override[c]; ok && p != "" {
		return p
	}
	return r.Root
}

// DataDir returns the catalog's data directory: Data[c] when set, else
// <catalog root>/<catalog>/data.
func (r Roots) DataDir(c Catalog) string {
	if p, ok := r.Data[c]; ok && p != "" {
		return p
	}
	return filepath.Join(r.CatalogRoot(c), string(c), "data")
}

// SnapshotsDir returns <catalog root>/<catalog>/snapshots.
func (r Roots) SnapshotsDir(c Catalog) string {
	return filepath.Join(r.CatalogRoot(c), string(c), "snapshots")
}

// overridden reports whether c has a root or data directory of its own.
func (r Roots) overridden(c Catalog) bool {
	p, ok := r.Override[c]
	d, okd := r.Data[c]
	return (ok && p != "") || (okd && d != "")
}
