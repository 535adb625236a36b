package backup

import (
	"context"
	"fmt"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// TakenSnapshot is a snapshot a running node took before the backup
// began: a cluster agent's, which asks for it at the coordinator's
// barrier and uploads it afterwards (docs/cluster.md).
type TakenSnapshot struct {
	// Node is the address the snapshot was asked of (the source recorded,
	// as a live backup records it), APIVersion what the node reported.
	Node       string
	APIVersion snapshot.Version
	// Taken is the node's answer: every catalog's snapshot. One with an
	// error fails the upload (ErrSnapshotFailed).
	Taken []snapshot.Taken
	// Groups selects groups of the snapshot (none: all).
	Groups []string
}

// UploadTaken uploads a backup of a snapshot the node already took, as
// UploadLive does after its own snapshot call: it checks that the
// snapshot is under the roots (ErrRootMismatch), claims its directories
// (snapshot.ClaimSnapshots), backs them up in place of the data
// directories, records the node, its API version and the parts the
// snapshot lacks, and deletes the snapshot directories before returning,
// whatever happens: part directories as soon as they are read, the rest
// once read or when the upload fails. The snapshot is the backup's from
// the call on; the caller may remove it again afterwards (snapshot.Remove
// ignores what is gone). A snapshot that could not be removed does not
// fail the upload: Result.SnapshotRemoveError says why once committed.
// The parent is the newest backup of the same roots and of the same host
// (opts.Host, the node's name), unless opts.Parent names one.
func UploadTaken(ctx context.Context, repo *repository.Repository, opts Options, snap TakenSnapshot) (*Uploaded, error) {
	start := time.Now()
	n, err := newLiveNode(nil, opts, LiveOptions{Node: snapshot.Options{Node: snap.Node}, Groups: snap.Groups}, snap.APIVersion)
	if err == nil {
		err = checkTakenUnderRoots(snap.Node, opts.Roots, snap.Taken, plainGroups(snap.Groups))
	}
	if err != nil {
		_ = snapshot.Remove(opts.Roots, made(snap.Taken))
		return nil, err
	}
	claim, err := snapshot.ClaimSnapshots(opts.Roots, made(snap.Taken), snap.Node)
	if err != nil {
		_ = snapshot.Remove(opts.Roots, made(snap.Taken))
		return nil, err
	}
	s, ctx, err := begin(ctx, repo)
	if err != nil {
		_ = snapshot.Remove(opts.Roots, made(snap.Taken))
		claim.Release()
		return nil, err
	}
	asked := opts
	asked.Groups = plainGroups(snap.Groups)
	// The nodes of a cluster often keep their data at the same path: the
	// parent is this node's own previous backup, not another node's.
	s.parentHost = opts.Host
	s.startParent(ctx, asked, n.parentGuess())
	up, removeErr, err := n.uploadClaimed(ctx, s, asked, snap.Taken, claim, start)
	if err != nil {
		s.end(ctx)
		return nil, s.failed(err)
	}
	if removeErr != nil {
		up.result.SnapshotRemoveError = fmt.Sprintf("cannot remove the node's snapshot: %v", removeErr)
	}
	return up, nil
}
