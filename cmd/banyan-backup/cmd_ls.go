package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/engine"
)

func newLsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "ls ID [PATH]",
		Short: "List the files and directories a backup holds",
		Long: `List the directories and files backup ID holds (a unique prefix of a backup
id, or "latest"), or only those at and below PATH, a path in its tree:
CATALOG/GROUP/SEGMENT/SHARD/PART/FILE, as restore writes them under
<root>/CATALOG/data/. One line each: mode, size, modification time, path.
With --json, a JSON array of {path, type, mode, size, mtime}.

A PATH the backup does not hold is exit 2.`,
		Example: `  banyan-backup ls latest
  banyan-backup ls latest measure/sw_metric/seg-20261122
  banyan-backup ls 3f2a9c stream --json`,
		Args: argsUsage(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			b, err := repo.FindBackup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			under := ""
			if len(args) == 2 {
				under = args[1]
			}
			entries := []engine.Entry{}
			w := cmd.OutOrStdout()
			err = engine.ListTree(cmd.Context(), repo.Repository, b, under, func(e engine.Entry) error {
				if g.json {
					entries = append(entries, e)
					return nil
				}
				_, err := fmt.Fprintf(w, "%s %12d %s %s\n", e.Mode, e.Size, e.ModTime.Local().Format(time.DateTime), e.Path)
				return err
			})
			if errors.Is(err, engine.ErrNoSuchPath) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(w, entries)
			}
			return nil
		},
	}
}
