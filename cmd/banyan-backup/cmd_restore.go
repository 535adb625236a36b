package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/restore"
)

func newRestoreCmd(g *globals) *cobra.Command {
	var target string
	cmd := &cobra.Command{
		Use:   "restore ID --target DIR",
		Short: "Restore a backup into a new data root",
		Long: `Restore a backup into DIR, which must be absent or empty; catalog C goes to
DIR/C/data, the layout BanyanDB expects with --root DIR.

Every blob is checked against its hash as it is read. Files are written to a
staging directory beside DIR (.DIR.banyan-restore, marked RESTORE-IN-PROGRESS)
and moved into DIR only when all are written and synced: a damaged
repository leaves DIR untouched, and an interrupted restore is resumed by
running the same command again.

ID is a unique prefix of a backup id, or "latest".`,
		Example: "  banyan-backup restore latest --repo /srv/bb --target /var/lib/banyandb-restored",
		Args:    argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if target == "" {
				return usagef("no target given: use --target DIR (an absent or empty directory)")
			}
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			b, err := repo.FindBackup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			res, err := restore.Run(cmd.Context(), repo, b, restore.Options{Target: target, Progress: newProgress(g, os.Stderr)})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "restored backup %s into %s: %d files, %s, every blob verified, in %.2fs\n",
				b.ID.Short(), res.Target, res.Files, humanBytes(res.Bytes), res.DurationSeconds)
			if res.FilesResumed > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "(%d files were already complete from the interrupted restore)\n", res.FilesResumed)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "data root to restore into (absent or empty)")
	return cmd
}
