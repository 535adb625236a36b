package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/spf13/cobra"
)

func newListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Aliases: []string{"snapshots"},
		Short:   "List the backups and backup sets in the repository, oldest first",
		Long: `List the backups in the repository, oldest first, and then the backup sets
(cluster backups), each naming one backup per node; a backup that belongs to a
set shows the set's id. --json prints the backups, each member with its "set".`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			backups, err := repo.Backups(cmd.Context())
			if err != nil {
				return err
			}
			sets, err := repo.Sets(cmd.Context())
			if err != nil {
				return err
			}
			list := engine.SummarizeAll(backups)
			engine.MarkSets(list, sets)
			if g.json {
				return printJSON(cmd.OutOrStdout(), list)
			}
			w := cmd.OutOrStdout()
			if len(backups) == 0 {
				fmt.Fprintln(w, "no backups yet")
				return nil
			}
			if err := printBackups(w, list, len(sets) > 0); err != nil {
				return err
			}
			if len(sets) > 0 {
				fmt.Fprintln(w)
				return printSets(w, engine.SummarizeSets(sets))
			}
			return nil
		},
	}
}

// printBackups writes the backup table; withSets adds the SET column.
func printBackups(w io.Writer, list []engine.Backup, withSets bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	header := "ID\tTIME\tHOST\tSOURCE\tCATALOGS\tFILES\tSIZE\tADDED\tTAGS\tVERSIONS"
	if withSets {
		header += "\tSET"
	}
	fmt.Fprintln(tw, header)
	for _, b := range list {
		line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s", b.ShortID, b.Time.Local().Format(time.DateTime), b.Hostname,
			b.Source.Type, strings.Join(b.Catalogs, ","), b.Files, humanBytes(b.BytesTotal), humanBytes(b.BytesAdded),
			strings.Join(b.Tags, ","), b.Versions.Short())
		if withSets {
			line += "\t" + setColumn(b)
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

// setColumn is a backup's set: its short id, "orphan" for a member of a
// cluster backup without a set (prune deletes it), or "".
func setColumn(b engine.Backup) string {
	switch {
	case b.Set != "":
		return b.Set[:8]
	case b.ClusterOperation != "":
		return "orphan"
	}
	return ""
}

// printSets writes the backup set table.
func printSets(w io.Writer, sets []engine.BackupSet) error {
	fmt.Fprintln(w, "backup sets:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTIME\tCLUSTER\tNODES\tWINDOW\tWATERMARK\tTAGS")
	for _, s := range sets {
		watermark := "-"
		if wm := s.EarliestWatermark(); !wm.IsZero() {
			watermark = wm.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d data, %d in all\t%.3fs\t%s\t%s\n", s.ShortID, s.Time.Local().Format(time.DateTime), s.Cluster,
			s.DataNodes, len(s.Nodes), s.WindowSeconds, watermark, strings.Join(s.Tags, ","))
	}
	return tw.Flush()
}
