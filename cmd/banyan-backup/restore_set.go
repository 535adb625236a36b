package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/banyan-backup/banyan-backup/internal/clusterrestore"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// backupRef checks how restore was told what to restore: a backup ID, or
// --set with --node; it returns the ID ("" with --set).
func (rf *restoreFlags) backupRef(args []string) (string, error) {
	switch {
	case rf.node != "" && rf.set == "":
		return "", usagef("--node needs --set SET: it names an old node of a backup set (to restore a backup of its own, give its ID)")
	case rf.set != "" && rf.node == "":
		return "", usagef("--set needs --node NAME: the old node whose backup to restore ('banyan-backup show SET' lists them; 'banyan-backup cluster restore' restores them all)")
	case rf.set != "" && len(args) > 0:
		return "", usagef("give either a backup ID or --set and --node, not both")
	case rf.set == "" && len(args) == 0:
		return "", usagef("no backup given: give its ID (or latest), or --set SET --node NAME")
	case rf.set != "":
		return "", nil
	}
	return args[0], nil
}

// findBackup resolves what to restore: the backup ref names, or the
// member of the set --set names that --node names.
func (rf *restoreFlags) findBackup(ctx context.Context, repo *repository.Repository, ref string) (repository.Backup, error) {
	if rf.set == "" {
		return repo.FindBackup(ctx, ref)
	}
	s, err := repo.FindSet(ctx, rf.set)
	if err != nil {
		return repository.Backup{}, err
	}
	return setMember(ctx, repo, s, rf.node)
}

// setMember loads the backup of node name of s. A member the set names
// and the repository lacks is an integrity failure, as verify reports it.
func setMember(ctx context.Context, repo *repository.Repository, s repository.BackupSet, name string) (repository.Backup, error) {
	id, err := clusterrestore.Member(s, name)
	if err != nil {
		return repository.Backup{}, err
	}
	b, err := repo.FindBackup(ctx, id.String())
	if errors.Is(err, repository.ErrBackupNotFound) {
		return repository.Backup{}, fmt.Errorf("%w: backup set %s names backup %s for node %s, which the repository lacks",
			repository.ErrIntegrity, s.ID.Short(), id.Short(), name)
	}
	return b, err
}

// nothingYet says why restore --if-empty has nothing to restore from
// ("" when it has): no backup yet (ID latest), or no set yet (--set
// latest).
func (rf *restoreFlags) nothingYet(ctx context.Context, repo *repository.Repository, ref string) (string, error) {
	switch {
	case rf.set == "latest":
		sets, err := repo.Sets(ctx)
		if err != nil || len(sets) > 0 {
			return "", err
		}
		return "the repository has no backup set yet", nil
	case ref == "latest":
		all, err := repo.Backups(ctx)
		if err != nil || len(all) > 0 {
			return "", err
		}
		return "the repository has no backup yet", nil
	}
	return "", nil
}
