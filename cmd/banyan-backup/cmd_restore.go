package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

func newRestoreCmd(g *globals) *cobra.Command {
	var target, timeZone string
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

The restored root is then checked as 'banyan-backup check' does: a node
started on it must load it cleanly. Problems are listed, and errors make the
command exit 1 (the files are restored all the same).

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
			loc, err := time.LoadLocation(timeZone)
			if err != nil {
				return usagef("unknown --time-zone %q: %v", timeZone, err)
			}
			res, err := restore.Run(cmd.Context(), repo, b, restore.Options{Target: target, Location: loc, Progress: newProgress(g, os.Stderr)})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.json {
				if err := printJSON(w, res); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(w, "restored backup %s into %s: %d files, %s, every blob verified, in %.2fs\n",
					b.ID.Short(), res.Target, res.Files, humanBytes(res.Bytes), res.DurationSeconds)
				if res.FilesResumed > 0 {
					fmt.Fprintf(w, "(%d files were already complete from the interrupted restore)\n", res.FilesResumed)
				}
				for _, i := range res.Check.Issues {
					fmt.Fprintln(w, i.String())
				}
				fmt.Fprintf(w, "check: %d groups, %d segments, %d shards, %d parts: %d errors, %d warnings\n",
					res.Check.Groups, res.Check.Segments, res.Check.Shards, res.Check.Parts, res.Check.Errors(), res.Check.Warnings())
			}
			if n := res.Check.Errors(); n > 0 {
				return fmt.Errorf("%w: restored into %s, but check found %d errors: a node would not load it as it is", banyandb.ErrCheckFailed, res.Target, n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "target", "", "data root to restore into (absent or empty)")
	cmd.Flags().StringVar(&timeZone, "time-zone", "Local", "the server's time zone, in which segment names are written")
	return cmd
}
