package cluster

import (
	"context"
	"fmt"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// dropDuplicates deletes, once the set is written, the second copies of
// blobs that two agents stored at once: the two replicas of a part are
// the same bytes, but each agent sees only the packs indexed when its
// upload began, so both store them. It runs under an exclusive lock taken
// only if no other process holds one (a backup or a restore running
// beside it is never waited for), moves at most one pack's size of blobs
// out of packs that hold both kinds, and reads no tree. It cannot fail the
// run: the set is written; what it could not do is left to the next
// prune, and the report says so.
func (r *run) dropDuplicates(ctx context.Context) {
	repo := r.o.Repo
	l, err := repo.TryLock(ctx, "cluster backup "+r.op+": drop second copies", true)
	if err != nil {
		r.warn(fmt.Sprintf("second copies of replicated parts are left for the next prune: %v", err))
		return
	}
	defer func() { _ = l.Unlock(context.WithoutCancel(ctx)) }()
	res, err := repo.Prune(ctx, l, repository.PruneOptions{
		Scope:     repository.PruneDuplicates,
		MaxRepack: int64(repo.Config().PackSize),
	})
	if err != nil {
		r.warn(fmt.Sprintf("cannot drop second copies of replicated parts (the next prune will): %v", err))
		return
	}
	r.report.Duplicates = &DuplicatesReport{PacksDeleted: res.PacksDeleted, PacksWritten: res.PacksWritten,
		BytesFreed: res.BytesFreed, PacksLeft: res.PacksRepackLater}
}
