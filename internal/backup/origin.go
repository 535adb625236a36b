package backup

import (
	"io"
	"os"
	"path/filepath"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// originOf returns the origin of f, a file of a live backup's snapshot
// under snap, when the node wrote it anew from a live file under live (an
// index file outside parts: docs/banyandb.md, Snapshots): that live
// file's identity now, and f's last bytes. It returns nil for an offline
// backup (live is nil), for other files, and when the live file is gone or
// f cannot be read (the backup then reads f, and meets the error there).
func originOf(live *banyandb.Roots, snap banyandb.Roots, f *banyandb.File) *repository.Origin {
	if live == nil || f.Kind != banyandb.KindIndex || f.Part != "" {
		return nil
	}
	st, err := os.Lstat(filepath.Join(live.DataDir(f.Catalog), filepath.FromSlash(f.Path)))
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	ino, _, _ := banyandb.StatIDs(st)
	tail, err := readTail(filepath.Join(snap.DataDir(f.Catalog), filepath.FromSlash(f.Path)), f.Size)
	if err != nil {
		return nil
	}
	return &repository.Origin{Inode: ino, Size: st.Size(), ModTime: st.ModTime().UTC(), Tail: tail}
}

// readTail reads the last bytes of a file of the given size.
func readTail(path string, size int64) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	n := min(size, repository.OriginTailSize)
	tail := make([]byte, n)
	if _, err := fh.ReadAt(tail, size-n); err != nil && err != io.EOF {
		return nil, err
	}
	return tail, nil
}

// sameCopy reports whether f, with origin o, is a copy of the same live
// file as the parent's node p, byte for byte the same (a node writes the
// copy of an unchanged live file identically every time), and the
// repository still has p's blobs: then p's blobs stand for f unread.
func sameCopy(f *banyandb.File, o *repository.Origin, p *repository.Node, repo *repository.Repository) bool {
	if p == nil || p.Size != f.Size || !p.Origin.Same(o) {
		return false
	}
	for _, id := range p.Blobs {
		if !repo.Index().Has(id) {
			return false
		}
	}
	return true
}
