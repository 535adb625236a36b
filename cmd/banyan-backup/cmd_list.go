package main

import (
	"fmt"
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
		Short:   "List the backups in the repository, oldest first",
		Args:    argsUsage(cobra.NoArgs),
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
			if g.json {
				return printJSON(cmd.OutOrStdout(), engine.SummarizeAll(backups))
			}
			if len(backups) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no backups yet")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTIME\tHOST\tSOURCE\tCATALOGS\tFILES\tSIZE\tADDED\tTAGS\tVERSIONS")
			for _, b := range backups {
				sb := engine.Summarize(b)
				s := b.Summary
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", b.ID.Short(), b.Time.Local().Format(time.DateTime), b.Host(),
					b.Source.Type, strings.Join(b.Catalogs, ","), s.Files, humanBytes(s.Bytes), humanBytes(sb.BytesAdded), strings.Join(b.Tags, ","),
					sb.Versions.Short())
			}
			return tw.Flush()
		},
	}
}
