package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
)

// globals are the flags every command shares.
type globals struct {
	repo     string
	json     bool
	quiet    bool
	lockWait time.Duration
	cacheDir string
	noCache  bool
	store    storeFlags
}

func (g *globals) repoURL() (string, error) {
	u := g.repo
	if u == "" {
		u = os.Getenv("BANYAN_BACKUP_REPO")
	}
	if u == "" {
		return "", usagef("no repository given: use --repo PATH or set BANYAN_BACKUP_REPO")
	}
	return u, nil
}

func (g *globals) backend() (storage.Backend, error) {
	u, err := g.repoURL()
	if err != nil {
		return nil, err
	}
	return g.store.open(u)
}

// openRepo opens the repository and loads its index.
func (g *globals) openRepo(ctx context.Context) (*repository.Repository, error) {
	be, err := g.backend()
	if err != nil {
		return nil, err
	}
	return repository.Open(ctx, be, g.repoOptions())
}

// repoOptions are the repository options of every command: --lock-wait,
// with one line on stderr when the wait starts.
func (g *globals) repoOptions() repository.Options {
	var once sync.Once
	return repository.Options{LockWait: g.lockWait, CacheDir: g.cache(), OnLockWait: func(err error) {
		if !g.quiet {
			once.Do(func() { fmt.Fprintf(os.Stderr, "waiting up to %s for the lock: %v\n", g.lockWait, err) })
		}
	}}
}

// cache returns the directory caching manifests and index files: --cache-dir,
// else the user's cache directory, for repositories in object stores (a
// local repository is its own cache); "" with --no-cache.
func (g *globals) cache() string {
	if g.noCache {
		return ""
	}
	if g.cacheDir != "" {
		return g.cacheDir
	}
	u, err := g.repoURL()
	if err != nil || !backends.IsObjectStore(u) {
		return ""
	}
	return g.cacheRoot()
}

// cacheRoot is the cache directory, whatever the repository: --cache-dir or
// the user's cache directory; serve's jobs use it for their object-store
// repositories.
func (g *globals) cacheRoot() string {
	if g.noCache {
		return ""
	}
	if g.cacheDir != "" {
		return g.cacheDir
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "banyan-backup")
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("cannot write JSON: %w", err)
	}
	return nil
}
