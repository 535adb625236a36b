// Package engine is the layer under the CLI and `serve` (and the cluster
// agent to come): it opens a repository through the one storage stack
// (backend, counting, rate limits, retry; internal/storage/stack) and
// holds the decisions both need: the JSON shape of a backup, retention
// grouping, and the restore compatibility decision.
package engine

import (
	"context"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
	"github.com/banyan-backup/banyan-backup/internal/storage/counting"
	"github.com/banyan-backup/banyan-backup/internal/storage/stack"
)

// OpenTimeout bounds the first request to an object store, which checks
// the bucket and the credentials.
const OpenTimeout = 30 * time.Second

// How whole packs are read from an object store when
// StoreOptions.Repository does not say: ranged Gets of 2 MiB, four at once
// per reader, so that a restore is not bound by one stream's rate per pack
// (docs/benchmarks.md, object storage). A restore's readers, one per CPU,
// then hold 8 MiB of ranges each.
const (
	ObjectStoreReadChunk    = 2 << 20
	ObjectStoreReadParallel = 4
)

// StoreOptions say how to reach a repository and what to wrap around its
// storage.
type StoreOptions struct {
	// Backends configures the object stores (endpoints, credentials).
	Backends backends.Options
	// Stack sets the retry policy and the upload and download limits.
	Stack stack.Options
	// CacheDir caches the manifests and index files of object-store
	// repositories; "" caches nothing. A local repository is its own
	// cache and never uses it.
	CacheDir string
	// Repository sets the lock wait and the clock; its CacheDir is set
	// from CacheDir.
	Repository repository.Options
}

// Repo is an open repository that owns its storage stack: Close closes
// both.
type Repo struct {
	*repository.Repository
	stack *stack.Stack
}

// OpenStack opens the storage stack of the repository at url without
// reading anything of the repository. The caller closes it.
func OpenStack(ctx context.Context, url string, o StoreOptions) (*stack.Stack, error) {
	openCtx, cancel := context.WithTimeout(ctx, OpenTimeout)
	defer cancel()
	return stack.Open(openCtx, url, o.Backends, o.Stack)
}

// Open opens the repository at url and loads its index.
func Open(ctx context.Context, url string, o StoreOptions) (*Repo, error) {
	return open(ctx, url, o, func(be storage.Backend, ro repository.Options) (*repository.Repository, error) {
		return repository.Open(ctx, be, ro)
	})
}

// Init creates a repository at url, which must hold none.
func Init(ctx context.Context, url string, init repository.InitOptions, o StoreOptions) (*Repo, error) {
	return open(ctx, url, o, func(be storage.Backend, ro repository.Options) (*repository.Repository, error) {
		return repository.Init(ctx, be, init, ro)
	})
}

func open(ctx context.Context, url string, o StoreOptions,
	fn func(storage.Backend, repository.Options) (*repository.Repository, error)) (*Repo, error) {
	st, err := OpenStack(ctx, url, o)
	if err != nil {
		return nil, err
	}
	ro := o.Repository
	ro.CacheDir = ""
	if backends.IsObjectStore(url) {
		ro.CacheDir = o.CacheDir
		if ro.PackReads == (repository.PackReads{}) {
			ro.PackReads = repository.PackReads{Chunk: ObjectStoreReadChunk, Parallel: ObjectStoreReadParallel}
		}
	}
	r, err := fn(st.Backend(), ro)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	return &Repo{Repository: r, stack: st}, nil
}

// Counts returns the bytes and operations that reached the storage so far.
func (r *Repo) Counts() counting.Counts { return r.stack.Counts() }

// Close releases the repository and closes its storage.
func (r *Repo) Close() error {
	r.Repository.Close()
	return r.stack.Close()
}
