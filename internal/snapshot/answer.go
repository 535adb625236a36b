package snapshot

import (
	"errors"
	"fmt"
	"strings"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// SchemaPrefix starts the name under which a node answers the schema
// snapshot (catalog schema-property) as a CATALOG_PROPERTY snapshot.
const SchemaPrefix = "schema-property/"

// newRequest checks groups and builds the request asking for them.
func newRequest(groups []Group) (*databasev1.SnapshotRequest, error) {
	req := &databasev1.SnapshotRequest{}
	for _, g := range groups {
		c, ok := protoCatalog(g.Catalog)
		if !ok {
			return nil, fmt.Errorf("cannot ask for a snapshot of group %q: catalog %q is not one of measure, stream, trace, property", g.Name, g.Catalog)
		}
		req.Groups = append(req.Groups, &databasev1.SnapshotRequest_Group{Catalog: c, Group: g.Name})
	}
	return req, nil
}

// protoCatalog returns the API's catalog of c; schema-property has none.
func protoCatalog(c banyandb.Catalog) (commonv1.Catalog, bool) {
	switch c {
	case banyandb.Measure:
		return commonv1.Catalog_CATALOG_MEASURE, true
	case banyandb.Stream:
		return commonv1.Catalog_CATALOG_STREAM, true
	case banyandb.Trace:
		return commonv1.Catalog_CATALOG_TRACE, true
	case banyandb.Property:
		return commonv1.Catalog_CATALOG_PROPERTY, true
	}
	return commonv1.Catalog_CATALOG_UNSPECIFIED, false
}

// takenFrom maps a node's answer to one Taken per snapshot. An answer it
// cannot use (an unexpected catalog, a name that is not a plain directory
// name, neither name nor error) is left out and reported as the error,
// which comes with the Taken that could be read.
func takenFrom(snaps []*databasev1.Snapshot) ([]Taken, error) {
	out := make([]Taken, 0, len(snaps))
	var errs []error
	for _, s := range snaps {
		t := Taken{Name: s.GetName(), Error: s.GetError()}
		switch s.GetCatalog() {
		case commonv1.Catalog_CATALOG_MEASURE:
			t.Catalog = banyandb.Measure
		case commonv1.Catalog_CATALOG_STREAM:
			t.Catalog = banyandb.Stream
		case commonv1.Catalog_CATALOG_TRACE:
			t.Catalog = banyandb.Trace
		case commonv1.Catalog_CATALOG_PROPERTY:
			t.Catalog = banyandb.Property
			if rest, ok := strings.CutPrefix(t.Name, SchemaPrefix); ok {
				t.Catalog, t.Name = banyandb.SchemaProperty, rest
			}
		default:
			errs = append(errs, fmt.Errorf("unexpected catalog %s for snapshot %q", s.GetCatalog(), s.GetName()))
			continue
		}
		switch {
		case t.Name == "" && t.Error == "":
			errs = append(errs, fmt.Errorf("the %s snapshot has neither a name nor an error", t.Catalog))
			continue
		case t.Name != "" && !plainName(t.Name):
			errs = append(errs, fmt.Errorf("the %s snapshot name %q is not a plain directory name", t.Catalog, t.Name))
			continue
		}
		out = append(out, t)
	}
	resolveUnnamed(out)
	if len(errs) > 0 {
		return out, fmt.Errorf("cannot read snapshot answer: %w", errors.Join(errs...))
	}
	return out, nil
}

// resolveUnnamed tells which property catalog a failed CATALOG_PROPERTY
// answer without a name (hence without the schema prefix) is for: when the
// other property answer is known to be the property one, it is the schema's.
func resolveUnnamed(ts []Taken) {
	unnamed, props, schemas := -1, 0, 0
	for i, t := range ts {
		switch {
		case t.Catalog == banyandb.Property && t.Name == "":
			if unnamed >= 0 {
				return // two unnamed: cannot tell
			}
			unnamed = i
		case t.Catalog == banyandb.Property:
			props++
		case t.Catalog == banyandb.SchemaProperty:
			schemas++
		}
	}
	if unnamed >= 0 && props == 1 && schemas == 0 {
		ts[unnamed].Catalog = banyandb.SchemaProperty
	}
}

// plainName reports whether name can stand as one directory name.
func plainName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\\\x00")
}
