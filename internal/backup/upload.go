package backup

import (
	"context"
	"errors"
	"sync"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Uploaded is a backup whose files, trees and index files are stored and
// whose manifest is not written yet. It holds the repository's shared lock
// until Commit or Release.
type Uploaded struct {
	s        *session
	manifest *repository.Manifest
	result   Result
	// afterCommit turns a committed result into the caller's (a live
	// backup whose snapshot could not be removed reports it then).
	afterCommit func(*Result) (*Result, error)
	mu          sync.Mutex
	closed      bool
}

// Manifest is the manifest Commit writes (its time, tree, segments and
// summary are final). The caller must not change it.
func (u *Uploaded) Manifest() *repository.Manifest { return u.manifest }

// Commit writes the manifest, making the backup exist, and releases the
// lock. It first checks that the lock still stands: if another process
// judged it stale and removed it, or overwrote it, a prune may have
// deleted what the upload stored, so nothing is committed
// (repository.ErrLockLost).
func (u *Uploaded) Commit(ctx context.Context) (*Result, error) {
	return u.CommitWith(ctx, CommitOptions{})
}

// CommitOptions are what is known only when an upload is committed.
type CommitOptions struct {
	// ClusterOperation, when set, makes the backup a member of the cluster
	// backup of that id (Options.ClusterOperation): a cluster agent learns
	// it from the coordinator's commit.
	ClusterOperation string
}

// CommitWith is Commit, with the manifest completed by o.
func (u *Uploaded) CommitWith(ctx context.Context, o CommitOptions) (*Result, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return nil, errors.New("cannot commit backup: it was committed or released already")
	}
	u.closed = true
	defer u.s.end(ctx)
	if err := u.s.lock.Check(ctx); err != nil {
		return nil, err
	}
	if o.ClusterOperation != "" {
		u.manifest.ClusterOperation = o.ClusterOperation
	}
	id, n, err := u.s.repo.SaveManifest(ctx, u.manifest)
	if err != nil {
		return nil, err
	}
	res := u.result
	res.Backup = repository.Backup{ID: id, Manifest: u.manifest, Size: n}
	if u.afterCommit != nil {
		return u.afterCommit(&res)
	}
	return &res, nil
}

// Release gives the lock up without committing: the backup does not
// exist, and its stored packs (indexed) are reused by the next backup or
// deleted by a prune. It does nothing after Commit, and may be called
// more than once.
func (u *Uploaded) Release(ctx context.Context) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.closed {
		u.closed = true
		u.s.end(ctx)
	}
}
