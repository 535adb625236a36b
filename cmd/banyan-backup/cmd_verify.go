package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

func newVerifyCmd(g *globals) *cobra.Command {
	var readData bool
	cmd := &cobra.Command{
		Use:   "verify [ID]",
		Short: "Check that backups are complete (and with --read-data, undamaged)",
		Long: `Check every backup (or the one given): every tree and blob is indexed and
its pack is stored with the indexed size. With --read-data, also read every
pack and check every blob against its hash.

Exits 3 when anything is wrong, naming the backup and file affected.`,
		Args: argsUsage(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			lock, err := repo.Lock(cmd.Context(), "verify", false)
			if err != nil {
				return err
			}
			defer lock.Unlock(cmd.Context())
			opts := repository.VerifyOptions{ReadData: readData, Progress: newProgress(g, os.Stderr)}
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
	return cmd
}
