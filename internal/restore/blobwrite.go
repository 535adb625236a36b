package restore

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	"github.com/banyan-backup/banyan-backup/internal/osfile"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// directMin is the smallest write a restore sends to the disk directly,
// around the page cache (docs/benchmarks.md, "Large files written around
// the page cache"): writebackMin, whose writes already went to the disk at
// once. A direct write waits for the disk; the tens of thousands of small
// files of a root go through the cache and the flusher instead.
const directMin = writebackMin

// blobWriter writes verified blobs into the staged files. The aligned part
// of a large write goes to the disk directly (O_DIRECT, where the
// filesystem takes it): the restore's bytes are not copied into the page
// cache, which they would only crowd, and are on the disk when the write
// returns, before the final sync. The rest goes through the page cache,
// with its writeback started at once (writebackMin) or by the flusher. The
// first direct open or write the staging filesystem refuses turns direct
// writes off for the rest of the restore.
type blobWriter struct {
	flush    *flusher
	noDirect atomic.Bool
	direct   atomic.Int64 // bytes written directly
}

// write writes data, a verified blob, where t says.
func (w *blobWriter) write(t blobTarget, data []byte) error {
	if t.file.whole {
		return w.writeWhole(t.file, data)
	}
	return w.writeAt(t.file, data, t.offset)
}

// writeWhole creates (or empties) the file f, of one blob, writes data as
// its content and finishes it, all through one descriptor. data was
// verified before: the file is complete once written.
func (w *blobWriter) writeWhole(f *fileState, data []byte) error {
	if int64(len(data)) != f.node.Size {
		return fmt.Errorf("%w: %s: blobs give %d bytes, the backup recorded %d", repository.ErrIntegrity, f.path, len(data), f.node.Size)
	}
	fh, direct, err := w.open(f.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|noFollow, 0o600, w.wantDirect(data, 0))
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", f.path, err)
	}
	if err := w.writeData(fh, data, 0, direct); err != nil {
		fh.Close()
		return fmt.Errorf("cannot write %s: %w", f.path, err)
	}
	if err := finishOpen(fh, f); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", f.path, err)
	}
	return nil
}

// writeAt writes data at off in the file f, of several blobs.
func (w *blobWriter) writeAt(f *fileState, data []byte, off int64) error {
	fh, direct, err := w.open(f.path, os.O_WRONLY|noFollow, 0, w.wantDirect(data, off))
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", f.path, err)
	}
	if err := w.writeData(fh, data, off, direct); err != nil {
		fh.Close()
		return fmt.Errorf("cannot write %s: %w", f.path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", f.path, err)
	}
	return nil
}

// wantDirect reports whether data, to be written at off, is worth writing
// directly and can be: large, at an aligned offset, from aligned memory.
func (w *blobWriter) wantDirect(data []byte, off int64) bool {
	return osfile.Direct != 0 && len(data) >= directMin && off%osfile.DirectAlign == 0 &&
		osfile.Aligned(data) && !w.noDirect.Load()
}

// open opens path with flag and perm, for direct writes when direct is set
// and the filesystem takes them; it reports whether they are on.
func (w *blobWriter) open(path string, flag int, perm os.FileMode, direct bool) (*os.File, bool, error) {
	if direct {
		fh, err := osfile.OpenFile(path, flag|osfile.Direct, perm)
		if !errors.Is(err, syscall.EINVAL) {
			return fh, err == nil, err
		}
		w.noDirect.Store(true)
	}
	fh, err := osfile.OpenFile(path, flag, perm)
	return fh, false, err
}

// writeData writes data at off in fh: with direct set (fh open for direct
// writes), its longest aligned prefix directly, then the rest through the
// page cache.
func (w *blobWriter) writeData(fh *os.File, data []byte, off int64, direct bool) error {
	if direct {
		n := len(data) &^ (osfile.DirectAlign - 1)
		_, err := fh.WriteAt(data[:n], off)
		switch {
		case err == nil:
			w.direct.Add(int64(n))
			data, off = data[n:], off+int64(n)
		case errors.Is(err, syscall.EINVAL): // refused before writing
			w.noDirect.Store(true)
		default:
			return err
		}
		if len(data) == 0 {
			return nil
		}
		if err := osfile.SetDirect(fh, false); err != nil {
			return err
		}
	}
	if _, err := fh.WriteAt(data, off); err != nil {
		return err
	}
	if len(data) >= writebackMin {
		startWriteback(fh, off, len(data))
	} else {
		w.flush.wrote(len(data))
	}
	return nil
}
