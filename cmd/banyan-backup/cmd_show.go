package main

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/compat"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/spf13/cobra"
)

// repoFormatText prints a recorded repository format; backups written
// before it was recorded have 0, and all of them format 1.
func repoFormatText(n int) string {
	if n == 0 {
		return "1 (not recorded)"
	}
	return strconv.Itoa(n)
}

func newShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show one backup (source, versions, segments and counts) or one backup set",
		Long: `Show one backup. ID is a unique prefix of a backup id, or "latest".
ID may also be a backup set's id (see list): the set is shown with its nodes.`,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			if set, err := repo.FindSet(cmd.Context(), args[0]); err == nil && args[0] != "latest" {
				if b, err := repo.FindBackup(cmd.Context(), args[0]); err == nil {
					return usagef("%q is the prefix of both backup set %s and backup %s: give more digits", args[0], set.ID.Short(), b.ID.Short())
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), engine.SummarizeSet(set))
				}
				return printSet(cmd.OutOrStdout(), engine.SummarizeSet(set))
			}
			b, err := repo.FindBackup(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), engine.Summarize(b))
			}
			w := cmd.OutOrStdout()
			s := b.Summary
			fmt.Fprintf(w, "backup      %s\ntime        %s\nhost        %s\ntool        banyan-backup %s (manifest format %d, repository format %s)\n",
				b.ID, b.Time.Local().Format(time.RFC3339), b.Host(), b.ToolVersion, b.Format, repoFormatText(b.RepositoryFormat))
			if b.Runner != "" && b.Runner != b.Host() {
				fmt.Fprintf(w, "run on      %s\n", b.Runner)
			}
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
			if segs := compat.SegmentVersions(b.Segments); len(segs) > 0 {
				fmt.Fprint(w, "segment formats")
				for _, c := range b.Catalogs {
					if vs := segs[c]; len(vs) > 0 {
						fmt.Fprintf(w, "  %s %s", c, strings.Join(vs, "+"))
					}
				}
				fmt.Fprintln(w)
			}
			if z := b.ServerZone; z != nil {
				fmt.Fprintf(w, "time zone   %s (%s): segment names are read in it\n", z.Name, z.Source)
			}
			if b.Parent != nil {
				fmt.Fprintf(w, "parent      %s\n", b.Parent.Short())
			}
			if c := b.CopiedFrom; c != nil {
				fmt.Fprintf(w, "copied      from backup %s of repository %s, at %s\n", c.Backup.Short(), repository.ShortHex(c.Repository), c.Time.Local().Format(time.RFC3339))
			}
			fmt.Fprintf(w, "files       %d in %d directories, %s\n", s.Files, s.Dirs, humanBytes(s.Bytes))
			fmt.Fprintf(w, "read        %d files, %s (%d unchanged, not read)\n", s.FilesRead, humanBytes(s.BytesRead), s.FilesUnchanged)
			fmt.Fprintf(w, "added       %s in %d blobs, %d packs, in %.2fs\n", humanBytes(s.BytesAdded+b.Size), s.BlobsAdded, s.PacksAdded, s.DurationSeconds)
			if sb := engine.Summarize(b); sb.LackingCount() > 0 {
				printLacking(w, sb)
			}
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

// printLacking lists the parts a live backup's snapshot listed but lacked
// (in the node's memory), per shard.
func printLacking(w io.Writer, b engine.Backup) {
	fmt.Fprintf(w, "lacking     %s in the node's memory at the snapshot, their rows not backed up: %s\n",
		partsText(b.LackingCount()), engine.LackingByGroup(b.LackingParts))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  CATALOG\tGROUP\tSEGMENT\tSHARD\tPARTS")
	for _, l := range b.LackingParts {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%d\t%s\n", l.Catalog, l.Group, l.Segment, l.Shard, strings.Join(l.Parts, " "))
	}
	_ = tw.Flush()
}
