package main

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/compat"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/spf13/cobra"
)

// versionsJSON is what list and show say of the versions a backup records.
type versionsJSON struct {
	Tool string `json:"tool"`
	// RepositoryFormat is 0 for backups written before it was recorded.
	RepositoryFormat int    `json:"repository_format,omitempty"`
	ManifestFormat   int    `json:"manifest_format"`
	APIVersion       string `json:"api_version,omitempty"`
	// Segments lists the segment formats per catalog.
	Segments map[string][]string `json:"segments,omitempty"`
}

func versionsOf(m *repository.Manifest) versionsJSON {
	return versionsJSON{Tool: m.ToolVersion, RepositoryFormat: m.RepositoryFormat, ManifestFormat: m.Format,
		APIVersion: m.Source.APIVersion, Segments: compat.SegmentVersions(m.Segments)}
}

// short is the one-column form for list: "tool 0.1.0, repo 1, api 0.10,
// seg 1.4.0" (segment formats of every catalog together).
func (v versionsJSON) short() string {
	parts := []string{"tool " + v.Tool}
	if v.RepositoryFormat > 0 {
		parts = append(parts, "repo "+strconv.Itoa(v.RepositoryFormat))
	}
	if v.APIVersion != "" {
		parts = append(parts, "api "+v.APIVersion)
	}
	var segs []string
	for _, vs := range v.Segments {
		for _, s := range vs {
			if !slices.Contains(segs, s) {
				segs = append(segs, s)
			}
		}
	}
	sort.Strings(segs)
	if len(segs) > 0 {
		parts = append(parts, "seg "+strings.Join(segs, "+"))
	}
	return strings.Join(parts, ", ")
}

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
				type listed struct {
					backupJSON
					Versions versionsJSON `json:"versions"`
				}
				out := make([]listed, 0, len(backups))
				for _, b := range backups {
					out = append(out, listed{toBackupJSON(b.ID, b.Manifest), versionsOf(b.Manifest)})
				}
				return printJSON(cmd.OutOrStdout(), out)
			}
			if len(backups) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no backups yet")
				return nil
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTIME\tHOST\tSOURCE\tCATALOGS\tFILES\tSIZE\tADDED\tTAGS\tVERSIONS")
			for _, b := range backups {
				s := b.Summary
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", b.ID.Short(), b.Time.Local().Format(time.DateTime), b.Hostname,
					b.Source.Type, strings.Join(b.Catalogs, ","), s.Files, humanBytes(s.Bytes), humanBytes(s.BytesAdded), strings.Join(b.Tags, ","),
					versionsOf(b.Manifest).short())
			}
			return tw.Flush()
		},
	}
}
