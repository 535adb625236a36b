package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"sync/atomic"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/osfile"
	"github.com/banyan-backup/banyan-backup/internal/parallel"
	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// blobTarget is one place a blob goes: a file and an offset in it.
type blobTarget struct {
	file   *fileState
	offset int64
	loc    repository.Location
}

// fileState tracks a file being written from blobs in several packs.
type fileState struct {
	path  string
	plan  *planFile
	node  *repository.Node
	owner *banyandb.Owner // nil: the restoring user keeps it
	// whole: the file is one blob, created, written and closed at once
	// when its pack delivers it; otherwise the file is created empty
	// first and each blob written at its offset.
	whole   bool
	pending atomic.Int64 // blobs not yet written
}

// packJob is one pack to read and the blobs to write from it.
type packJob struct {
	pack    repository.ID
	targets []blobTarget
}

// writeFiles creates the directories and files in staging (in
// stagingDirs), then reads each pack the files need once, up to the last
// blob they need from it, hashing every blob before it is written, and
// writes the blobs where they go (blobWriter), flushing the small files to
// disk as it goes. A damaged blob fails with ErrIntegrity naming backup b,
// a file and the blob. Files an earlier attempt completed (done) are kept.
func writeFiles(ctx context.Context, repo *repository.Repository, p *plan, b repository.Backup, stagingDirs []string, opts Options) error {
	made := map[string]bool{}
	for _, d := range p.dirs {
		if d.unit != nil && d.unit.inPlace {
			continue
		}
		if err := mkdirBelow(d.staging, targetPath(d.cat, d.rel), made); err != nil {
			return err
		}
	}
	rep := progress.OrNop(opts.Progress)
	rep.Start("restore", int64(len(p.files)), p.bytes)
	defer rep.Done()

	jobs, err := prepareFiles(repo, p, opts.Owners, rep)
	if err != nil {
		return err
	}
	w := &blobWriter{flush: startFlusher(stagingDirs)}
	err = runJobs(ctx, repo, jobs, b, opts, w, rep)
	w.flush.stop()
	if err != nil {
		return err
	}
	// Directory modes and times last, deepest first: a read-only directory
	// would refuse its files, and writing a file changes its directory's time.
	for i := len(p.dirs) - 1; i >= 0; i-- {
		d := p.dirs[i]
		if d.unit != nil && d.unit.inPlace {
			continue
		}
		if err := chown(d.dst, opts.Owners.of(d.owner.UID, d.owner.GID)); err != nil {
			return err
		}
		if err := os.Chmod(d.dst, d.mode.Perm()); err != nil {
			return fmt.Errorf("cannot set mode of %s: %w", d.dst, err)
		}
		if !d.mtime.IsZero() {
			if err := os.Chtimes(d.dst, d.mtime, d.mtime); err != nil {
				return fmt.Errorf("cannot set time of %s: %w", d.dst, err)
			}
		}
	}
	return nil
}

// prepareFiles creates every file not kept from an earlier attempt, finishes
// the empty ones, and groups the blobs to write by pack, packs in the order
// the files first need them.
func prepareFiles(repo *repository.Repository, p *plan, owners Owners, rep progress.Reporter) ([]*packJob, error) {
	byPack := map[repository.ID]*packJob{}
	var order []*packJob
	for i := range p.files {
		f := &p.files[i]
		path := f.dst
		if f.done {
			rep.Advance(1, f.node.Size)
			continue
		}
		if f.generated {
			if err := writeSynced(path, f.data); err != nil {
				return nil, err
			}
			if err := finishFile(&fileState{path: path, node: &f.node, owner: owners.of(f.node.UID, f.node.GID)}); err != nil {
				return nil, err
			}
			rep.Advance(1, f.node.Size)
			continue
		}
		fs := &fileState{path: path, plan: f, node: &f.node, owner: owners.of(f.node.UID, f.node.GID), whole: len(f.node.Blobs) == 1}
		if !fs.whole {
			if err := createEmpty(path); err != nil {
				return nil, err
			}
		}
		fs.pending.Store(int64(len(f.node.Blobs)))
		if len(f.node.Blobs) == 0 {
			if err := finishFile(fs); err != nil {
				return nil, err
			}
			rep.Advance(1, 0)
			continue
		}
		var off int64
		for _, id := range f.node.Blobs {
			loc, ok := repo.Index().Lookup(id)
			if !ok {
				return nil, fmt.Errorf("%w: blob %s of %s/%s is in no index", repository.ErrIntegrity, id.Short(), f.cat, f.rel)
			}
			j := byPack[loc.Pack]
			if j == nil {
				j = &packJob{pack: loc.Pack}
				byPack[loc.Pack] = j
				order = append(order, j)
			}
			j.targets = append(j.targets, blobTarget{file: fs, offset: off, loc: loc})
			off += int64(loc.RawLength)
		}
	}
	for _, j := range order {
		sort.Slice(j.targets, func(a, b int) bool { return j.targets[a].loc.Offset < j.targets[b].loc.Offset })
	}
	return order, nil
}

// runJobs reads the packs with a few workers, each reusing its buffers.
func runJobs(ctx context.Context, repo *repository.Repository, jobs []*packJob, b repository.Backup, opts Options, w *blobWriter, rep progress.Reporter) error {
	return parallel.ForEach(ctx, workers(opts), jobs, func() func(context.Context, *packJob) error {
		scanner := repo.NewPackScanner()
		return func(ctx context.Context, j *packJob) error {
			if err := writePack(ctx, scanner, j, w, rep); err != nil {
				return damaged(fmt.Errorf("cannot restore from pack %s: %w", j.pack.Short(), err), j.pack, j.uses(), b)
			}
			return nil
		}
	})
}

// uses lists the blobs the job writes and a file each goes to.
func (j *packJob) uses() []blobUse {
	out := make([]blobUse, len(j.targets))
	for i, t := range j.targets {
		out[i] = blobUse{loc: t.loc, file: t.file.plan}
	}
	return out
}

// writePack streams one pack and writes each of its blobs where it goes. A
// blob several files use is decoded once. Files are finished (size, mode,
// time checked and set) only after every blob needed from the pack
// verified, so a damaged pack never leaves a file that looks complete.
func writePack(ctx context.Context, scanner *repository.PackScanner, j *packJob, w *blobWriter, rep progress.Reporter) error {
	wanted := make([]repository.Location, 0, len(j.targets))
	for i, t := range j.targets {
		if i == 0 || t.loc.Offset != j.targets[i-1].loc.Offset {
			wanted = append(wanted, t.loc)
		}
	}
	next := 0
	err := scanner.ScanBlobs(ctx, j.pack, wanted, func(loc repository.Location, data []byte) error {
		for ; next < len(j.targets) && j.targets[next].loc.Offset == loc.Offset; next++ {
			if err := w.write(j.targets[next], data); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, t := range j.targets {
		if t.file.pending.Add(-1) == 0 {
			if !t.file.whole { // writeWhole finished it
				if err := finishFile(t.file); err != nil {
					return err
				}
			}
			rep.Advance(1, t.file.node.Size)
		}
	}
	return nil
}

// createEmpty creates path empty, or empties it.
func createEmpty(path string) error {
	fh, err := osfile.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY|noFollow, 0o600)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	return nil
}

// chown gives path the owner o (nil: leaves it).
func chown(path string, o *banyandb.Owner) error {
	if o == nil {
		return nil
	}
	if err := os.Lchown(path, int(o.UID), int(o.GID)); err != nil {
		return fmt.Errorf("cannot set owner of %s to %d:%d: %w (restore as root, or give --no-owner)", path, o.UID, o.GID, err)
	}
	return nil
}

// finishFile checks a complete file's size and sets its owner, mode and
// mtime.
func finishFile(f *fileState) error {
	st, err := os.Lstat(f.path)
	if err != nil {
		return fmt.Errorf("cannot finish %s: %w", f.path, err)
	}
	if st.Size() != f.node.Size {
		return fmt.Errorf("%w: %s: blobs give %d bytes, the backup recorded %d", repository.ErrIntegrity, f.path, st.Size(), f.node.Size)
	}
	if err := chown(f.path, f.owner); err != nil {
		return err
	}
	if err := os.Chmod(f.path, f.node.Mode.Perm()); err != nil {
		return fmt.Errorf("cannot set mode of %s: %w", f.path, err)
	}
	if err := os.Chtimes(f.path, f.node.ModTime, f.node.ModTime); err != nil {
		return fmt.Errorf("cannot set time of %s: %w", f.path, err)
	}
	return nil
}

// finishOpen sets the owner, mode and mtime of the complete file f, open
// as fh: finishFile through the descriptor, with no path looked up again.
func finishOpen(fh *os.File, f *fileState) error {
	if o := f.owner; o != nil {
		if err := fh.Chown(int(o.UID), int(o.GID)); err != nil {
			return fmt.Errorf("cannot set owner of %s to %d:%d: %w (restore as root, or give --no-owner)", f.path, o.UID, o.GID, err)
		}
	}
	if err := fh.Chmod(f.node.Mode.Perm()); err != nil {
		return fmt.Errorf("cannot set mode of %s: %w", f.path, err)
	}
	if err := osfile.SetModTime(fh, f.node.ModTime); err != nil {
		return fmt.Errorf("cannot set time of %s: %w", f.path, err)
	}
	return nil
}

// matches reports whether path already holds exactly the node's content.
func matches(path string, n *repository.Node, buf []byte) bool {
	st, err := os.Lstat(path)
	if err != nil || !st.Mode().IsRegular() || st.Size() != n.Size || !st.ModTime().Equal(n.ModTime) {
		return false
	}
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	for _, id := range n.Blobs {
		k, err := io.ReadFull(fh, buf)
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return false
		}
		if repository.Hash(buf[:k]) != id {
			return false
		}
	}
	return true
}
