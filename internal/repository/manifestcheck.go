package repository

import (
	"errors"
	"fmt"
)

// CheckManifest returns what makes a manifest invalid, wrapping
// ErrIntegrity, or nil (repository-format.md, "Valid manifests"): every
// catalog, group, segment and part it names must be a valid name, so that
// no reader can be led to build a path from it that leaves its directory.
func CheckManifest(m *Manifest) error {
	if err := checkManifest(m); err != nil {
		return fmt.Errorf("%w: %v", ErrIntegrity, err)
	}
	return nil
}

// checkManifest is CheckManifest without the sentinel, for verify's
// problems.
func checkManifest(m *Manifest) error {
	if m.Tree == (ID{}) {
		return errors.New("manifest: names no root tree")
	}
	seen := map[string]bool{}
	for _, c := range m.Catalogs {
		if !IsCatalogName(c) || seen[c] {
			return fmt.Errorf("manifest: catalogs: %q is not a catalog or is listed twice", c)
		}
		seen[c] = true
	}
	for c := range m.Source.Roots {
		if !IsCatalogName(c) {
			return fmt.Errorf("manifest: source roots: %q is not a catalog", c)
		}
	}
	for _, s := range m.Segments {
		if err := checkNames(s.Catalog, s.Group, s.Name); err != nil {
			return fmt.Errorf("manifest: segment %q: %v", s.Catalog+"/"+s.Group+"/"+s.Name, err)
		}
	}
	for _, l := range m.LackingParts {
		err := checkNames(l.Catalog, append([]string{l.Group, l.Segment}, l.Parts...)...)
		if err == nil && l.Shard < 0 {
			err = fmt.Errorf("shard %d is negative", l.Shard)
		}
		if err != nil {
			return fmt.Errorf("manifest: lacking parts of %q: %v", l.Catalog+"/"+l.ShardPath(), err)
		}
	}
	return nil
}

// checkNames checks a catalog name and names below it.
func checkNames(catalog string, names ...string) error {
	if !IsCatalogName(catalog) {
		return fmt.Errorf("%q is not a catalog", catalog)
	}
	for _, n := range names {
		if err := CheckName(n); err != nil {
			return fmt.Errorf("%q: %v", n, err)
		}
	}
	return nil
}
