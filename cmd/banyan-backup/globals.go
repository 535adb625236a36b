package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/redact"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
)

// globals are the flags every command shares.
type globals struct {
	repo  string
	json  bool
	quiet bool
	// progressEvery is --progress-interval: how often progress lines are
	// printed off a terminal.
	progressEvery time.Duration
	lockWait      time.Duration
	storageTries  int
	cacheDir      string
	noCache       bool
	store         storeFlags
	creds         credFlags
	// redactURLs are further URLs whose credentials the redactor hides
	// (copy's source repository and its endpoints).
	redactURLs []string
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

// redactor hides the credentials of the repository URL, of the object
// stores' endpoint flags and of their environment variables in whatever
// the command prints: an SDK's error may quote them.
func (g *globals) redactor() *redact.Redactor {
	o := g.store.opts
	r := redact.New(append([]string{g.repo, os.Getenv("BANYAN_BACKUP_REPO"), o.S3.Endpoint, o.GCS.Endpoint, o.Azure.Endpoint}, g.redactURLs...)...)
	r.AddEnv(os.Getenv)
	return r
}

// storeOptions are the repository options of every command: the object
// stores' flags, --cache-dir, --lock-wait (with one line on stderr when
// the wait starts), and the run's limits (nil: none).
func (g *globals) storeOptions(rl *runLimits) engine.StoreOptions {
	var once sync.Once
	o := engine.StoreOptions{Backends: g.store.options(), CacheDir: g.cacheRoot(),
		Repository: repository.Options{LockWait: g.lockWait, OnLockWait: func(err error) {
			if !g.quiet {
				once.Do(func() { fmt.Fprintf(os.Stderr, "waiting up to %s for the lock: %v\n", g.lockWait, err) })
			}
		}}}
	o.Stack.Retry.Attempts = g.storageTries
	if rl != nil {
		o.Stack.Upload, o.Stack.Download = rl.upload, rl.download
	}
	return o
}

// openRepo opens the repository and loads its index.
func (g *globals) openRepo(ctx context.Context) (*engine.Repo, error) {
	return g.open(ctx, nil)
}

// openLimitedRepo opens the repository through a storage stack that keeps
// the upload and download limits.
func (g *globals) openLimitedRepo(ctx context.Context, rl runLimits) (*engine.Repo, error) {
	return g.open(ctx, &rl)
}

func (g *globals) open(ctx context.Context, rl *runLimits) (*engine.Repo, error) {
	u, err := g.repoURL()
	if err != nil {
		return nil, err
	}
	return badURLIsUsage(g.openWithCredentials(ctx, u, g.storeOptions(rl)))
}

// badURLIsUsage turns an unusable repository location into a usage error.
func badURLIsUsage[T any](v T, err error) (T, error) {
	if errors.Is(err, backends.ErrBadURL) {
		return v, usageError{err}
	}
	return v, err
}

// cacheRoot is the cache directory of object-store repositories (a local
// repository is its own cache): --cache-dir or the user's cache
// directory; "" with --no-cache.
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
