package repository

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// The local cache keeps copies of a repository's manifests and index
// files, which are immutable and named by their hash, so that a backup,
// list or restore against an object store fetches only those it has not
// seen: one request per new object instead of one per backup ever taken.
// It lives in Options.CacheDir/<repository id>/{manifests,index,sets}/<id>. A
// cached copy is used only when it still matches its name; entries whose
// object is gone from the repository (forgotten, or replaced by prune) are
// dropped when the objects are listed. Writing the cache is best effort:
// a failure only costs a download next time.

// cachePath returns where the object kind/id is cached, or "" without a
// cache.
func (r *Repository) cachePath(kind string, id ID) string {
	if r.opts.CacheDir == "" {
		return ""
	}
	return filepath.Join(r.opts.CacheDir, r.cfg.ID, kind, id.String())
}

// readObject returns the verified content of kind/id ("manifests",
// "index" or "sets"), from the cache when it has it.
func (r *Repository) readObject(ctx context.Context, kind string, id ID) ([]byte, error) {
	path := r.cachePath(kind, id)
	if path != "" {
		if data, err := os.ReadFile(path); err == nil && Hash(data) == id {
			return data, nil
		}
	}
	data, err := storage.ReadAll(ctx, r.be, kind+"/"+id.String())
	if err != nil {
		return nil, err
	}
	if Hash(data) != id {
		return nil, fmt.Errorf("%w: %s %s does not match its hash", ErrIntegrity, kindName(kind), id.Short())
	}
	if path != "" {
		writeCache(path, data)
	}
	return data, nil
}

func kindName(kind string) string {
	switch kind {
	case "index":
		return "index file"
	case "sets":
		return "backup set"
	}
	return "manifest"
}

// writeCache stores data at path atomically, ignoring failures.
func writeCache(path string, data []byte) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.Write(data)
	if cerr := f.Close(); werr != nil || cerr != nil {
		os.Remove(f.Name())
		return
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
	}
}

// dropStale removes the cached objects of kind that the repository no
// longer holds.
func (r *Repository) dropStale(kind string, present []ID) {
	if r.opts.CacheDir == "" {
		return
	}
	dir := filepath.Join(r.opts.CacheDir, r.cfg.ID, kind)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	keep := make(map[string]bool, len(present))
	for _, id := range present {
		keep[id.String()] = true
	}
	for _, e := range ents {
		if !keep[e.Name()] {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// isNotFound reports a missing object.
func isNotFound(err error) bool { return errors.Is(err, storage.ErrNotFound) }
