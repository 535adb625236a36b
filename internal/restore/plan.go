package restore

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

type planFile struct {
	rel  string // path below the target, OS separators
	node repository.Node
}

type planDir struct {
	rel   string
	mode  fs.FileMode
	mtime time.Time
}

type plan struct {
	dirs  []planDir
	files []planFile
	bytes int64
}

// targetPath maps a path of the root tree, "<catalog>/<rest>", to its place
// below a data root, "<catalog>/data/<rest>".
func targetPath(treePath string) string {
	catalog, rest, _ := strings.Cut(treePath, "/")
	return filepath.Join(catalog, "data", filepath.FromSlash(rest))
}

// makePlan lists what to write and checks that every blob is indexed, so a
// restore from a damaged repository fails before it writes anything.
func makePlan(ctx context.Context, repo *repository.Repository, b repository.Backup) (*plan, error) {
	p := &plan{}
	var missing []string
	err := repo.Walk(ctx, b.Tree, func(path string, n *repository.Node) error {
		switch n.Type {
		case repository.NodeDir:
			p.dirs = append(p.dirs, planDir{rel: targetPath(path), mode: n.Mode, mtime: n.ModTime})
		case repository.NodeFile:
			for _, id := range n.Blobs {
				if !repo.Index().Has(id) && len(missing) < 10 {
					missing = append(missing, fmt.Sprintf("%s (blob %s)", path, id.Short()))
				}
			}
			p.files = append(p.files, planFile{rel: targetPath(path), node: *n})
			p.bytes += n.Size
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot read backup %s: %w", b.ID.Short(), err)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: backup %s needs blobs the repository lacks: %s; run `banyan-backup verify`", repository.ErrIntegrity, b.ID.Short(), strings.Join(missing, ", "))
	}
	return p, nil
}
