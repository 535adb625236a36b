package main

import (
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

func newShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one backup: source, versions, segments and counts",
		Long:  "Show one backup. ID is a unique prefix of a backup id, or \"latest\".",
		Args:  argsUsage(cobra.ExactArgs(1)),
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
			if g.json {
				return printJSON(cmd.OutOrStdout(), struct {
					ID string `json:"id"`
					any
				}{b.ID.String(), b.Manifest})
			}
			w := cmd.OutOrStdout()
			s := b.Summary
			fmt.Fprintf(w, "backup      %s\ntime        %s\nhost        %s\ntool        banyan-backup %s (manifest format %d)\n",
				b.ID, b.Time.Local().Format(time.RFC3339), b.Hostname, b.ToolVersion, b.Format)
			fmt.Fprintf(w, "source      %s", b.Source.Type)
			if b.Source.Node != "" {
				fmt.Fprintf(w, " %s (API %s)", b.Source.Node, b.Source.APIVersion)
			}
			fmt.Fprintln(w)
			cats := make([]string, 0, len(b.Source.Roots))
			for c := range b.Source.Roots {
				cats = append(cats, c)
			}
			sort.Strings(cats)
			for _, c := range cats {
				fmt.Fprintf(w, "  %-15s %s\n", c, b.Source.Roots[c])
			}
			if b.Parent != nil {
				fmt.Fprintf(w, "parent      %s\n", b.Parent.Short())
			}
			fmt.Fprintf(w, "files       %d in %d directories, %s\n", s.Files, s.Dirs, humanBytes(s.Bytes))
			fmt.Fprintf(w, "read        %d files, %s (%d unchanged, not read)\n", s.FilesRead, humanBytes(s.BytesRead), s.FilesUnchanged)
			fmt.Fprintf(w, "added       %s in %d blobs, %d packs, in %.2fs\n", humanBytes(s.BytesAdded), s.BlobsAdded, s.PacksAdded, s.DurationSeconds)
			if len(b.Segments) > 0 {
				fmt.Fprintln(w, "segments:")
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "  CATALOG\tGROUP\tSEGMENT\tSTART\tEND\tFORMAT")
				for _, seg := range b.Segments {
					end := seg.End.Format(time.RFC3339)
					if !seg.EndKnown {
						end += " (derived)"
					}
					fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", seg.Catalog, seg.Group, seg.Name, seg.Start.Format(time.RFC3339), end, seg.Version)
				}
				return tw.Flush()
			}
			return nil
		},
	}
}
