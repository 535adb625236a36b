package clusterrestore

import (
	"fmt"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Member returns the backup of the node named name in s: what `restore
// --set ID --node NAME` restores. A name the set does not hold, or a node
// without a backup (a liaison whose queues were not backed up), is
// ErrUnknownNode, naming the nodes that have one.
func Member(s repository.BackupSet, name string) (repository.ID, error) {
	n, ok := s.Node(name)
	switch {
	case !ok:
		return repository.ID{}, fmt.Errorf("%w: backup set %s has no node %q; its nodes with a backup: %s",
			ErrUnknownNode, s.ID.Short(), name, strings.Join(s.MemberNames(), ", "))
	case n.Backup == nil:
		return repository.ID{}, fmt.Errorf("%w: node %s of backup set %s is a %s without a backup; its nodes with a backup: %s",
			ErrUnknownNode, name, s.ID.Short(), n.Role, strings.Join(s.MemberNames(), ", "))
	}
	return *n.Backup, nil
}
