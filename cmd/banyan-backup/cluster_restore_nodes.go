package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// runNodes restores each node that gets data, one after the other, and
// records each outcome; a node's failure does not stop the others, an
// interruption does. The selection applies to the set: a node whose
// backup holds none of the selected data gets its schema alone (nothing
// with --no-schema), and only a selection that matches no node's data
// fails, as restore's does, with nothing written.
func (rep *clusterReport) runNodes(ctx context.Context, cmd *cobra.Command, g *globals, cf *clusterRestoreFlags, repo *repository.Repository, s repository.BackupSet) {
	w := cmd.OutOrStdout()
	if selects(cf.restore) && !cf.restore.dryRun && rep.noneSelected(ctx, g, cf, repo, s) {
		return
	}
	for i := range rep.Nodes {
		n := &rep.Nodes[i]
		if n.Old == "" {
			continue
		}
		if ctx.Err() != nil {
			n.fail(ctx.Err())
			continue
		}
		if !g.json {
			fmt.Fprintf(w, "== node %s <- %s (backup %s) into %s\n", n.New, n.Old, n.Backup[:8], n.Target)
		}
		res, b, err := restoreNode(ctx, w, g, cf, cf.restore, repo, s, n)
		if errors.Is(err, restore.ErrNothingSelected) {
			n.NothingSelected = true
			if !g.json {
				then := "its schema alone is restored"
				if cf.restore.noSchema {
					then = "nothing is restored (--no-schema)"
				}
				fmt.Fprintf(w, "node %s: %v: %s\n", n.New, err, then)
			}
			if cf.restore.noSchema {
				continue
			}
			res, b, err = restoreNode(ctx, w, g, cf, schemaOnly(cf.restore), repo, s, n)
		}
		if err != nil {
			n.fail(err)
			if !g.json {
				fmt.Fprintf(w, "node %s FAILED: %v\n", n.New, err)
			}
			continue
		}
		n.Result = res
		if !g.json {
			printRestore(w, b, res)
		}
		if err := checkFailed(res); err != nil {
			n.fail(err)
		}
	}
}

// noneSelected plans every node's restore without writing, and when the
// selection matches no node's data, marks every node so and says so.
// Other errors are left for the restores to report.
func (rep *clusterReport) noneSelected(ctx context.Context, g *globals, cf *clusterRestoreFlags, repo *repository.Repository, s repository.BackupSet) bool {
	dry := cf.restore
	dry.dryRun = true
	for _, n := range rep.restored() {
		if _, _, err := restoreNode(ctx, io.Discard, g, cf, dry, repo, s, &n); !errors.Is(err, restore.ErrNothingSelected) {
			return false
		}
	}
	for i := range rep.Nodes {
		rep.Nodes[i].NothingSelected = rep.Nodes[i].Old != ""
	}
	return true
}

// schemaOnly is rf selecting the schema catalog alone: what a node whose
// backup holds none of the selected data gets.
func schemaOnly(rf restoreFlags) restoreFlags {
	rf.target.catalogs = []string{string(banyandb.SchemaProperty)}
	rf.groups, rf.from, rf.to = nil, "", ""
	return rf
}

// restoreNode restores one node's member backup into its target, with
// the options rf.
func restoreNode(ctx context.Context, w io.Writer, g *globals, cf *clusterRestoreFlags, rf restoreFlags,
	repo *repository.Repository, s repository.BackupSet, n *nodeRestore) (*restore.Result, repository.Backup, error) {
	run, err := cf.nodeRun(g, rf, n.Target)
	if err != nil {
		return nil, repository.Backup{}, err
	}
	b, err := setMember(ctx, repo, s, n.Old)
	if err != nil {
		return nil, b, err
	}
	res, err := run.restore(ctx, w, g.json, repo, b)
	return res, b, err
}
