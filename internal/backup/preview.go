package backup

import (
	"context"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Preview is what a backup with the same options would do now, found
// without reading a file's content or writing to the repository (backup
// --dry-run).
type Preview struct {
	// Parent is the backup whose unchanged files would be reused (nil: a
	// full backup).
	Parent   *repository.Backup
	Catalogs []banyandb.Catalog
	Segments int
	// Files, Dirs and Bytes are what the backup would hold.
	Files, Dirs, Bytes int64
	// FilesUnchanged would be reused from the parent unread; FilesToRead
	// (BytesToRead) would be read, and only what of them the repository
	// lacks stored: how much that is, only reading tells.
	FilesUnchanged, FilesToRead, BytesToRead int64
	Zone                                     banyandb.Zone
}

// PreviewBackup makes the decisions Run would, on a stopped node's data
// root: the root must not be locked by a server, the parent is chosen
// and read, the root scanned, and each file found unchanged or to be
// read, with the same errors Run would give. It takes no repository lock
// and writes nothing.
func PreviewBackup(ctx context.Context, repo *repository.Repository, opts Options) (*Preview, error) {
	if err := banyandb.CheckNotLocked(opts.Roots, opts.Catalogs); err != nil {
		return nil, err
	}
	src := sourceOf(opts, sourceHooks{})
	_, host := hostOf(opts, src)
	parent, prev, err := loadParent(ctx, repo, opts, src, host)
	if err != nil {
		return nil, err
	}
	scan := banyandb.ScanOptions{Catalogs: opts.Catalogs, Groups: opts.Groups, Location: opts.Location}
	if !opts.ForceRehash {
		scan.ReusePart = func(c banyandb.Catalog, rel string, id banyandb.PartDirID) bool {
			return prev.reusesPart(repo, c, rel, id, false)
		}
	}
	layout, err := banyandb.Scan(ctx, opts.Roots, scan)
	if err != nil {
		return nil, err
	}
	if err := checkLimits(layout, prev); err != nil {
		return nil, err
	}
	w, err := planFiles(ctx, repo, layout, prev, nil, opts, sourceHooks{})
	if err != nil {
		return nil, err
	}
	return &Preview{
		Parent: parent, Catalogs: layout.Catalogs, Segments: len(layout.Segments),
		Files: w.sum.Files, Dirs: w.sum.Dirs, Bytes: w.sum.Bytes,
		FilesUnchanged: w.sum.FilesUnchanged, FilesToRead: int64(len(w.todo)), BytesToRead: w.todoBytes,
		Zone: layout.Zone,
	}, nil
}
