package engine

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// ErrNoSuchPath is a path a backup does not hold, or that no backup could
// (with . or .. in it).
var ErrNoSuchPath = errors.New("no such path in the backup")

// Entry is one file or directory of a backup's tree, as ls lists it.
type Entry struct {
	// Path is catalog/group/segment/shard/part/file, slash-separated.
	Path    string    `json:"path"`
	Type    string    `json:"type"` // "file" or "dir"
	Mode    string    `json:"mode"`
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime,omitzero"`
}

// ListTree calls fn for every file and directory of backup b at or below
// under (a slash-separated path in its tree; "" for all), in tree order,
// directories before their entries. A path the backup does not hold is
// ErrNoSuchPath, and so is a path with "." or ".." components.
func ListTree(ctx context.Context, repo *repository.Repository, b repository.Backup, under string, fn func(Entry) error) error {
	under = strings.Trim(under, "/")
	if under != "" && path.Clean(under) != under || strings.HasPrefix(under, "..") || under == "." {
		return fmt.Errorf("cannot list %q: %w: give a path in the backup's tree without . or .. components, like measure/GROUP/SEGMENT", under, ErrNoSuchPath)
	}
	found := under == ""
	err := repo.Walk(ctx, b.Tree, func(p string, n *repository.Node) error {
		if under != "" && p != under && !strings.HasPrefix(p, under+"/") {
			if n.Type == repository.NodeDir && !strings.HasPrefix(under, p+"/") {
				return repository.SkipDir
			}
			return nil
		}
		found = true
		return fn(Entry{Path: p, Type: n.Type, Mode: n.Mode.String(), Size: n.Size, ModTime: n.ModTime})
	})
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("cannot list %s in backup %s: %w", under, b.ID.Short(), ErrNoSuchPath)
	}
	return nil
}
