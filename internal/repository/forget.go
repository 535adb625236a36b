package repository

import (
	"context"
	"errors"
	"fmt"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// checkExclusive fails unless lock is an exclusive lock of r still held.
func (r *Repository) checkExclusive(lock *Lock, what string) error {
	if lock == nil || lock.r != r || !lock.info.Exclusive {
		return fmt.Errorf("cannot %s: it needs an exclusive lock of this repository", what)
	}
	lock.mu.Lock()
	defer lock.mu.Unlock()
	if lock.closed {
		return fmt.Errorf("cannot %s: the repository lock was released", what)
	}
	return nil
}

// RemoveBackups deletes the manifests of the given backups ("forget"): the
// backups no longer exist, and the data only they used becomes garbage for
// Prune. lock must be an exclusive lock of r. A backup already gone is not
// an error. It stops, with ErrLockLost, once the lock is lost.
func (r *Repository) RemoveBackups(ctx context.Context, lock *Lock, ids []ID) error {
	if err := r.checkExclusive(lock, "forget backups"); err != nil {
		return err
	}
	if err := lock.Check(ctx); err != nil {
		return err
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := lock.held(); err != nil {
			return err
		}
		if err := r.be.Delete(ctx, "manifests/"+id.String()); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("cannot remove backup %s: %w", id.Short(), err)
		}
	}
	return nil
}
