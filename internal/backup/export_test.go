package backup

import (
	"context"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// RunWithPartRead is Run with the hook a live backup uses to delete each
// part directory of its snapshot once read.
func RunWithPartRead(ctx context.Context, repo *repository.Repository, opts Options, partRead func(banyandb.Catalog, string)) (*Result, error) {
	up, err := upload(ctx, repo, opts, sourceHooks{partRead: partRead})
	if err != nil {
		return nil, err
	}
	return up.Commit(ctx)
}
