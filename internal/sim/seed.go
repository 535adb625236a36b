package sim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// SeedFromFixture fills root with the data of a fixture: src is a fixture
// archive (*.tar.zst, extracted to a temporary directory first), an
// extracted fixture (the directory holding data/) or a BanyanDB root. Only
// <catalog>/data trees are copied, never snapshots. It refuses to write
// into a catalog data directory of root that exists and is not empty.
func SeedFromFixture(ctx context.Context, src, root string) error {
	return WithFixtureRoot(src, func(dir string) error {
		return seedCatalogs(ctx, dir, root, banyandb.AllCatalogs())
	})
}

// WithFixtureRoot calls fn with the data root of a fixture: src is a
// fixture archive (*.tar.zst, extracted to a temporary directory, removed
// after fn), an extracted fixture (the directory holding data/) or a
// BanyanDB root.
func WithFixtureRoot(src string, fn func(root string) error) error {
	if strings.HasSuffix(src, ".tar.zst") {
		tmp, err := os.MkdirTemp("", "banyand-sim-fixture-")
		if err != nil {
			return fmt.Errorf("cannot extract fixture %s: %w", src, err)
		}
		defer os.RemoveAll(tmp)
		top, err := fixture.Extract(src, tmp)
		if err != nil {
			return err
		}
		src = top
	}
	if isDir(filepath.Join(src, "data")) && !isDir(filepath.Join(src, string(banyandb.Measure))) {
		src = filepath.Join(src, "data")
	}
	return fn(src)
}

// SeedClusterNode fills a data node's root with what every data node of a
// cluster holds before any write: the fixture's schemas (every data node
// holds the whole schema) and its property data (which the simulator does
// not place). Measure, stream and trace data arrive through the liaison.
func SeedClusterNode(ctx context.Context, src, root string) error {
	return WithFixtureRoot(src, func(dir string) error {
		return seedCatalogs(ctx, dir, root, []banyandb.Catalog{banyandb.Property, banyandb.SchemaProperty})
	})
}

// seedCatalogs copies the data trees of catalogs from root src to root.
func seedCatalogs(ctx context.Context, src, root string, catalogs []banyandb.Catalog) error {
	from, to := banyandb.Roots{Root: src}, banyandb.Roots{Root: root}
	copied := 0
	for _, c := range catalogs {
		if !isDir(from.DataDir(c)) {
			continue
		}
		if entries, err := os.ReadDir(to.DataDir(c)); err == nil && len(entries) > 0 {
			return fmt.Errorf("cannot seed %s: %s is not empty", root, to.DataDir(c))
		}
		if err := copyTree(ctx, from.DataDir(c), to.DataDir(c)); err != nil {
			return err
		}
		copied++
	}
	if copied == 0 {
		return fmt.Errorf("cannot seed %s: %w: no <catalog>/data under %s", root, banyandb.ErrNotRoot, src)
	}
	return nil
}

// copyTree copies the directories and regular files below src to dst,
// keeping the files' permission bits and modification times. Other entries are an
// error.
func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("cannot copy %s: %w", p, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cannot copy %s: %w", src, err)
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return fmt.Errorf("cannot copy %s: %w", p, err)
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return fmt.Errorf("cannot copy %s: %w", p, err)
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return fmt.Errorf("cannot copy %s: %w", p, err)
			}
		case d.Type().IsRegular():
			if err := copyFile(p, target); err != nil {
				return err
			}
			return os.Chtimes(target, info.ModTime(), info.ModTime())
		default:
			return fmt.Errorf("cannot copy %s: %w", p, errors.New("not a regular file or directory"))
		}
		return nil
	})
}
