package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// backupPreviewOut is backup --dry-run's JSON.
type backupPreviewOut struct {
	DryRun         bool     `json:"dry_run"`
	Parent         string   `json:"parent,omitempty"`
	Catalogs       []string `json:"catalogs"`
	Segments       int      `json:"segments"`
	Files          int64    `json:"files"`
	Dirs           int64    `json:"dirs"`
	BytesTotal     int64    `json:"bytes_total"`
	FilesUnchanged int64    `json:"files_unchanged"`
	FilesToRead    int64    `json:"files_to_read"`
	BytesToRead    int64    `json:"bytes_to_read"`
	Zone           string   `json:"zone"`
}

// previewBackup prints what a backup with opts would do, reading no file's
// content and writing nothing (backup --dry-run).
func previewBackup(cmd *cobra.Command, g *globals, repo *repository.Repository, opts backup.Options) error {
	p, err := backup.PreviewBackup(cmd.Context(), repo, opts)
	if err != nil {
		return err
	}
	out := backupPreviewOut{
		DryRun: true, Catalogs: []string{}, Segments: p.Segments, Files: p.Files, Dirs: p.Dirs, BytesTotal: p.Bytes,
		FilesUnchanged: p.FilesUnchanged, FilesToRead: p.FilesToRead, BytesToRead: p.BytesToRead, Zone: p.Zone.Describe(),
	}
	for _, c := range p.Catalogs {
		out.Catalogs = append(out.Catalogs, string(c))
	}
	parent := "none: a full backup"
	if p.Parent != nil {
		out.Parent = p.Parent.ID.String()
		parent = "backup " + p.Parent.ID.Short()
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), out)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "dry run: only directories and metadata were read, and nothing was written\n")
	fmt.Fprintf(w, "would back up %d files, %s, in %d segments (parent: %s)\n", out.Files, humanBytes(out.BytesTotal), out.Segments, parent)
	fmt.Fprintf(w, "%d unchanged since the parent, not read; %d to read (%s), of which only what the repository lacks is stored\n",
		out.FilesUnchanged, out.FilesToRead, humanBytes(out.BytesToRead))
	fmt.Fprintf(w, "segment names read in %s\n", out.Zone)
	return nil
}
