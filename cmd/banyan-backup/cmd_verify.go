package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var (
		readData bool
		subset   string
		lf       limitFlags
	)
	cmd := &cobra.Command{
		Use:   "verify [ID]",
		Short: "Check that backups are complete (and with --read-data, undamaged)",
		Long: `Check every backup (or the one given): its manifest and trees are valid
(entry names, types, modes, sizes, depth and number of entries, as a restore
requires), and every tree and blob is indexed and its pack is stored with the
indexed size. With --read-data, also read every pack and check every blob
against its hash; --read-data-subset reads part of them: 1/7 on Monday, 2/7
on Tuesday … reads every pack once a week, and 5% reads a random twentieth.
--limit-download keeps the reading from competing with backups.

Exits 3 when anything is wrong, naming the backup and file affected.`,
		Args: argsUsage(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sub repository.Subset
			if subset != "" {
				var err error
				if sub, err = repository.ParseSubset(subset); err != nil {
					return usagef("invalid --read-data-subset: %v", err)
				}
				readData = true
			}
			lim, err := lf.apply()
			if err != nil {
				return err
			}
			repo, err := g.openLimitedRepo(cmd.Context(), lim)
			if err != nil {
				return err
			}
			defer repo.Close()
			lock, err := repo.Lock(cmd.Context(), "verify", false)
			if err != nil {
				return err
			}
			defer lock.Unlock(cmd.Context())
			opts := repository.VerifyOptions{ReadData: readData, Subset: sub, Progress: newProgress(g, os.Stderr)}
			if len(args) == 1 {
				b, err := repo.FindBackup(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				opts.Backups = []repository.Backup{b}
			}
			res, err := repo.Verify(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if g.json {
				if res.Problems == nil {
					res.Problems = []repository.Problem{}
				}
				if err := printJSON(cmd.OutOrStdout(), res); err != nil {
					return err
				}
			} else {
				w := cmd.OutOrStdout()
				for _, p := range res.Problems {
					fmt.Fprintln(w, p.String())
				}
				what := "structure"
				if readData {
					what = fmt.Sprintf("structure and data (%d packs, %s read)", res.PacksRead, humanBytes(res.BytesRead))
					if sub != (repository.Subset{}) {
						what = fmt.Sprintf("structure, and data of subset %s (%d of %d packs, %s read)", sub, res.PacksRead, res.Packs, humanBytes(res.BytesRead))
					}
				}
				fmt.Fprintf(w, "checked %s of %d backups: %d files, %d blobs in %d packs: %d problems\n",
					what, res.Backups, res.Files, res.Blobs, res.Packs, len(res.Problems))
			}
			if len(res.Problems) > 0 {
				return fmt.Errorf("%w: %d problems found; the backups named above cannot be fully restored", repository.ErrIntegrity, len(res.Problems))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&readData, "read-data", false, "read every pack and check every blob's hash")
	cmd.Flags().StringVar(&subset, "read-data-subset", "", "read only some packs: N/T (the packs of group N of T) or P% (a random P percent)")
	addLimitFlags(cmd, &lf, false)
	return cmd
}
