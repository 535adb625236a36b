package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

func newCopyCmd(g *globals) *cobra.Command {
	var (
		from      string
		fromOpts  storeFlags
		fromCreds credFlags
		dryRun    bool
		lf        limitFlags
	)
	cmd := &cobra.Command{
		Use:   "copy [ID...]",
		Short: "Copy backups from another repository (--from-repo) into this one",
		Long: `Copy backups from the repository --from-repo into the repository --repo
(default: every backup of the source that the destination does not hold).

A backup is held already when the destination has one with the same root
tree, time and host: a copy keeps those, so the same backup has the same
root tree in both repositories, and running copy again copies only what is
new. Only the blobs the destination lacks are read, each checked against
its hash, and stored as they are (compressed blobs stay compressed); then
the index, then the manifest, which records where it was copied from. A
copy that is interrupted or killed leaves no backup listed, and running it
again reuses what it stored. A damaged source fails the copy with exit
code 3, and nothing of the backup concerned is listed in the destination.

Both repositories must cut files the same way (their chunk size): copy
refuses others. Either may be encrypted: each blob is opened with the
source's key and sealed with the destination's (--from-password-file,
--from-key-file or BANYAN_BACKUP_FROM_PASSWORD open the source; the usual
flags the destination). A copy into an unencrypted repository stores the
data unencrypted. Both are locked as by a backup (the source shared, for
the whole copy). The source's object store is set with the --from-*
flags; credentials come from the environment for both. --limit-download
caps reading the source, --limit-upload writing the destination, and
--concurrency sets how many source packs are read at once (default 2).`,
		Example: `  banyan-backup copy --from-repo /srv/banyan-backups --repo s3://offsite/banyandb
  banyan-backup copy latest --from-repo /srv/bb --repo /mnt/usb/bb --json
  banyan-backup copy --from-repo s3://a/bb --from-s3-endpoint http://minio:9000 --repo /srv/bb --dry-run`,
		Args: argsUsage(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			srcURL, err := fromURL(from)
			if err != nil {
				return err
			}
			lim, err := lf.apply()
			if err != nil {
				return err
			}
			so := g.storeOptions(&lim)
			so.Backends = withIdleTimeout(fromOpts.options(), g.store.idleTimeout())
			g.redactURLs = append(g.redactURLs, srcURL, fromOpts.opts.S3.Endpoint, fromOpts.opts.GCS.Endpoint, fromOpts.opts.Azure.Endpoint)
			src, err := badURLIsUsage(openWithCredentials(ctx, srcURL, so, &fromCreds))
			if errors.Is(err, repository.ErrNeedCredentials) {
				return fmt.Errorf("%w: the source repository %s is encrypted: give its password with --from-password-file FILE or %s, or a key file with --from-key-file",
					repository.ErrNeedCredentials, srcURL, fromPasswordEnv)
			}
			if err != nil {
				return fmt.Errorf("cannot open the source repository: %w", err)
			}
			defer src.Close()
			dst, err := g.openLimitedRepo(ctx, lim)
			if err != nil {
				return err
			}
			defer dst.Close()
			start := time.Now()
			res, err := backup.Copy(ctx, src.Repository, dst.Repository, backup.CopyOptions{
				Backups: args, DryRun: dryRun, Workers: lim.workers, Progress: newProgress(g, os.Stderr)})
			if err != nil {
				return err
			}
			red := g.redactor()
			out := copyOutput(red.String(src.Location()), red.String(dst.Location()), dryRun, res, time.Since(start))
			if g.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			printCopy(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from-repo", "", "the repository to copy from: a path, file:///path, s3://, gs:// or azure:// URL (env "+fromEnv+")")
	f.BoolVarP(&dryRun, "dry-run", "n", false, "only show what would be copied")
	fromOpts.registerSource(f)
	fromCreds.registerSource(f)
	addLimitFlags(cmd, &lf, false)
	return cmd
}

// copiedJSON is one backup of `copy --json`.
type copiedJSON struct {
	SourceID string    `json:"source_id"`
	Status   string    `json:"status"`
	Time     time.Time `json:"time"`
	Hostname string    `json:"hostname"`
	Tree     string    `json:"tree"`
	// ID is the backup in the destination (none in a dry run).
	ID string `json:"id,omitempty"`
	// Copy counts the blobs the destination lacked, copied or (dry run)
	// to copy.
	Copy repository.CopyCounts `json:"copy"`
	// Backup is the copy made, as `backup --json` prints a backup.
	Backup *engine.BackupRun `json:"backup,omitempty"`
}

// copyJSON is what `copy --json` prints.
type copyJSON struct {
	From            string       `json:"from"`
	To              string       `json:"to"`
	DryRun          bool         `json:"dry_run"`
	Backups         []copiedJSON `json:"backups"`
	Copied          int          `json:"copied"`
	Present         int          `json:"present"`
	Planned         int          `json:"planned,omitempty"`
	BlobsAdded      int64        `json:"blobs_added"`
	BytesAdded      int64        `json:"bytes_added"`
	PacksRecovered  int          `json:"packs_recovered,omitempty"`
	DurationSeconds float64      `json:"duration_seconds"`
}

func copyOutput(from, to string, dryRun bool, res *backup.CopyResult, took time.Duration) copyJSON {
	out := copyJSON{From: from, To: to, DryRun: dryRun, Backups: []copiedJSON{}, DurationSeconds: took.Seconds()}
	for _, b := range res.Backups {
		c := copiedJSON{SourceID: b.Source.ID.String(), Status: string(b.Status), Time: b.Source.Time,
			Hostname: b.Source.Host(), Tree: b.Source.Tree.String(), Copy: b.Counts}
		switch b.Status {
		case backup.Copied:
			run := engine.SummarizeRun(b.Result)
			c.ID, c.Backup = run.ID, &run
			out.Copied++
			out.BlobsAdded += run.BlobsAdded
			out.BytesAdded += run.BytesAdded
			out.PacksRecovered += run.PacksRecovered
		case backup.Present:
			c.ID = b.Backup.ID.String()
			out.Present++
		case backup.Planned:
			out.Planned++
			out.BlobsAdded += b.Counts.Trees + b.Counts.Blobs
			out.BytesAdded += b.Counts.StoredBytes
		}
		out.Backups = append(out.Backups, c)
	}
	return out
}

// printCopy writes copy's result for people.
func printCopy(w io.Writer, out copyJSON) {
	for _, b := range out.Backups {
		what := fmt.Sprintf("backup %s of %s at %s", repository.ShortHex(b.SourceID), b.Hostname, b.Time.Local().Format(time.RFC3339))
		blobs := fmt.Sprintf("%d blobs and %d trees, %s", b.Copy.Blobs, b.Copy.Trees, humanBytes(b.Copy.StoredBytes))
		switch backup.CopyStatus(b.Status) {
		case backup.Copied:
			fmt.Fprintf(w, "copied %s as %s: %s the destination lacked, in %.2fs\n", what, b.Backup.ShortID, blobs, b.Backup.DurationSeconds)
		case backup.Present:
			fmt.Fprintf(w, "%s: held already as %s\n", what, repository.ShortHex(b.ID))
		case backup.Planned:
			fmt.Fprintf(w, "would copy %s: %s the destination lacks\n", what, blobs)
		}
	}
	switch {
	case out.DryRun:
		fmt.Fprintf(w, "dry run: would copy %d backups (%d held already), adding about %s\n", out.Planned, out.Present, humanBytes(out.BytesAdded))
	case out.Copied == 0:
		fmt.Fprintf(w, "nothing to copy: the destination holds all %d backups\n", out.Present)
	default:
		fmt.Fprintf(w, "copied %d backups (%d held already): the destination grew by %s in %.2fs\n", out.Copied, out.Present, humanBytes(out.BytesAdded), out.DurationSeconds)
	}
	if out.PacksRecovered > 0 {
		fmt.Fprintf(w, "%d packs an interrupted copy or backup had stored were reused, not copied again\n", out.PacksRecovered)
	}
}
