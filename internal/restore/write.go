package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// writeFiles creates the directories and writes every file into staging,
// keeping files a previous attempt already wrote correctly. It returns how
// many files were kept.
func writeFiles(ctx context.Context, repo *repository.Repository, p *plan, staging string, opts Options) (int64, error) {
	for _, d := range p.dirs {
		if err := os.MkdirAll(filepath.Join(staging, d.rel), 0o755); err != nil {
			return 0, fmt.Errorf("cannot create directory %s: %w", filepath.Join(staging, d.rel), err)
		}
	}
	rep := opts.Progress
	if rep != nil {
		rep.Start("restore", int64(len(p.files)), p.bytes)
		defer rep.Done()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan *planFile)
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
		resumed  atomic.Int64
	)
	chunk := repo.Config().ChunkSize
	for range workers(opts) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunk)
			for f := range jobs {
				kept, err := writeFile(ctx, repo, filepath.Join(staging, f.rel), &f.node, buf)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("cannot restore %s: %w", filepath.ToSlash(f.rel), err); cancel() })
					continue
				}
				if kept {
					resumed.Add(1)
				}
				if rep != nil {
					rep.Advance(1, f.node.Size)
				}
			}
		}()
	}
feed:
	for i := range p.files {
		select {
		case jobs <- &p.files[i]:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return 0, firstErr
	}
	// Directory modes last: a read-only directory would refuse its files.
	for i := len(p.dirs) - 1; i >= 0; i-- {
		d := p.dirs[i]
		if err := os.Chmod(filepath.Join(staging, d.rel), d.mode.Perm()); err != nil {
			return 0, fmt.Errorf("cannot set mode of %s: %w", d.rel, err)
		}
	}
	return resumed.Load(), nil
}

// writeFile writes one file from its blobs, or keeps it when an earlier
// attempt left it complete (same size and every chunk hashing to its blob).
func writeFile(ctx context.Context, repo *repository.Repository, path string, n *repository.Node, buf []byte) (bool, error) {
	if matches(path, n, buf) {
		return true, nil
	}
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return false, err
	}
	var written int64
	for _, id := range n.Blobs {
		if err := ctx.Err(); err != nil {
			fh.Close()
			return false, err
		}
		data, err := repo.LoadBlob(ctx, id, buf)
		if err != nil {
			fh.Close()
			return false, err
		}
		if _, err := fh.Write(data); err != nil {
			fh.Close()
			return false, err
		}
		written += int64(len(data))
	}
	if err := fh.Close(); err != nil {
		return false, err
	}
	if written != n.Size {
		return false, fmt.Errorf("%w: blobs give %d bytes, the backup recorded %d", repository.ErrIntegrity, written, n.Size)
	}
	if err := os.Chmod(path, n.Mode.Perm()); err != nil {
		return false, err
	}
	return false, os.Chtimes(path, n.ModTime, n.ModTime)
}

// matches reports whether path already holds exactly the node's content.
func matches(path string, n *repository.Node, buf []byte) bool {
	st, err := os.Stat(path)
	if err != nil || st.Size() != n.Size || !st.ModTime().Equal(n.ModTime) {
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
