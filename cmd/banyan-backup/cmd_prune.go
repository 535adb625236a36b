package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

func newPruneCmd(g *globals) *cobra.Command {
	var (
		dryRun    bool
		maxRepack string
	)
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Delete the data no backup needs (after forget)",
		Long: `Delete the packs and index entries that no backup needs: the data of
forgotten backups and packs left by killed backups.

Prune marks every blob the remaining backups use, copies the used blobs of
partly used packs into new packs, writes a new index, then deletes the old
index files and the packs nothing needs. It holds an exclusive lock, so no
backup, restore or verify runs meanwhile (start those with --lock-wait to
let them wait for it); a prune that is interrupted leaves a consistent
repository and is finished by running it again.

Memory grows with the number of distinct blobs (about 100 bytes each), not
with the size of packs or the number of backups.`,
		Example: `  banyan-backup forget --keep-daily 7 --keep-weekly 4 && banyan-backup prune
  banyan-backup prune --dry-run --json
  banyan-backup prune --lock-wait 1h      # wait for a running backup to finish`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			maxBytes, err := parseMaxRepack(maxRepack)
			if err != nil {
				return err
			}
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			lock, err := repo.Lock(cmd.Context(), "prune", true)
			if err != nil {
				return err
			}
			defer lock.Unlock(cmd.Context())
			res, err := repo.Prune(cmd.Context(), lock, repository.PruneOptions{DryRun: dryRun, MaxRepack: maxBytes, Progress: newProgress(g, os.Stderr)})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			printPrune(cmd.OutOrStdout(), res)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&dryRun, "dry-run", "n", false, "only show what would be deleted and repacked")
	addMaxRepackFlag(cmd, &maxRepack)
	return cmd
}

func addMaxRepackFlag(cmd *cobra.Command, v *string) {
	cmd.Flags().StringVar(v, "max-repack-size", "", "copy at most this much out of partly used packs (e.g. 2GiB; default no bound): the packs that free the most per byte copied go first, the rest wait for a later prune")
}

func parseMaxRepack(s string) (int64, error) {
	n, err := ratelimit.ParseRate(s)
	if err != nil {
		return 0, usagef("invalid --max-repack-size %q: want a size such as 2GiB or 500MB", s)
	}
	return n, nil
}

// printPrune writes prune's result for people.
func printPrune(w io.Writer, res *repository.PruneResult) {
	fmt.Fprintf(w, "%d backups use %d blobs; of %d packs: %d kept, %d partly used, %d unused, %d in no index\n",
		res.Backups, res.BlobsUsed, res.Packs, res.PacksKept, res.PacksRepacked, res.PacksUnused, res.PacksUnindexed)
	if res.PacksRepackLater > 0 {
		fmt.Fprintf(w, "%d partly used packs left for a later prune (--max-repack-size)\n", res.PacksRepackLater)
	}
	if res.PacksMissing > 0 {
		fmt.Fprintf(w, "%d indexed packs are missing but no backup needs them: dropped from the index\n", res.PacksMissing)
	}
	if res.DryRun {
		fmt.Fprintf(w, "dry run: would copy %s into new packs, delete %d packs and free about %s (%s → %s)\n",
			humanBytes(res.BytesRepacked), res.PacksRepacked+res.PacksUnused+res.PacksUnindexed,
			humanBytes(res.BytesFreed), humanBytes(res.BytesBefore), humanBytes(res.BytesAfter))
		return
	}
	if res.PacksDeleted == 0 && res.PacksWritten == 0 && res.IndexFilesWritten == 0 {
		fmt.Fprintln(w, "nothing to prune")
		return
	}
	fmt.Fprintf(w, "copied %s into %d new packs, wrote %d index files; deleted %d packs and %d index files\n",
		humanBytes(res.BytesRepacked), res.PacksWritten, res.IndexFilesWritten, res.PacksDeleted, res.IndexFilesDeleted)
	fmt.Fprintf(w, "repository %s → %s: %s freed\n", humanBytes(res.BytesBefore), humanBytes(res.BytesAfter), humanBytes(res.BytesFreed))
}
