package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/engine"
)

// rootFlags are the flags that say where a BanyanDB node keeps its data.
type rootFlags struct {
	root      string
	overrides map[banyandb.Catalog]*string
	catalogs  []string
	timeZone  string
	rootName  string           // "--root" or "--target", for messages
	server    *serverRootFlags // the server's own flags; nil for --target
}

func addRootFlags(cmd *cobra.Command, rf *rootFlags) {
	addRootFlagsNamed(cmd, rf, "root", "BanyanDB data root: the directory holding measure/, stream/, trace/, property/, schema-property/", "--root")
}

// addTargetFlags adds the flags naming where a restore writes: --target and
// the per-catalog roots.
func addTargetFlags(cmd *cobra.Command, rf *rootFlags) {
	addRootFlagsNamed(cmd, rf, "target", "data root to restore into: catalog C goes to DIR/C/data", "--target")
}

func addRootFlagsNamed(cmd *cobra.Command, rf *rootFlags, rootFlag, rootHelp, rootName string) {
	f := cmd.Flags()
	f.StringVar(&rf.root, rootFlag, "", rootHelp)
	rf.rootName = rootName
	rf.overrides = map[banyandb.Catalog]*string{}
	for _, c := range []struct {
		cat  banyandb.Catalog
		flag string
	}{{banyandb.Measure, "measure-root"}, {banyandb.Stream, "stream-root"}, {banyandb.Trace, "trace-root"}, {banyandb.Property, "property-root"}, {banyandb.SchemaProperty, "schema-root"}} {
		rf.overrides[c.cat] = f.String(c.flag, "", fmt.Sprintf("root of the %s catalog when it differs from %s (the server's --%s-path)", c.cat, rootName, serverFlag(c.cat)))
	}
	if rootFlag == "root" {
		rf.server = &serverRootFlags{}
		rf.server.register(f)
	}
	f.StringSliceVar(&rf.catalogs, "catalog", nil, "catalogs to include: measure, stream, trace, property, schema-property (repeatable; default all)")
	zoneHelp := "the server's time zone, in which segment names are written: an IANA name (Asia/Shanghai), UTC, Local or UTC+08:00 (default: learned from the segments' metadata, else local)"
	if rootName == "--target" {
		zoneHelp = "the time zone of the backed-up server, in which segment names and --from/--to dates are read: an IANA name, UTC, Local or UTC+08:00 (default: the zone the backup recorded, else learned from its segments' metadata, else local)"
	}
	f.StringVar(&rf.timeZone, "time-zone", "", zoneHelp)
}

// anyOverride reports whether a per-catalog root was given.
func (rf *rootFlags) anyOverride() bool {
	for _, v := range rf.overrides {
		if *v != "" {
			return true
		}
	}
	return false
}

func serverFlag(c banyandb.Catalog) string {
	if c == banyandb.SchemaProperty {
		return "schema-server-root"
	}
	return string(c) + "-root"
}

// resolve reads the flags; the location is nil when --time-zone was not
// given (learn it from the data).
func (rf *rootFlags) resolve() (banyandb.Roots, []banyandb.Catalog, *time.Location, error) {
	roots := banyandb.Roots{Root: rf.root, Override: map[banyandb.Catalog]string{}}
	for c, v := range rf.overrides {
		if *v != "" {
			roots.Override[c] = *v
		}
	}
	if rf.server != nil {
		rf.server.apply(&roots)
	}
	if roots.Root == "" && len(roots.Override) == 0 {
		if rf.rootName == "--target" {
			return roots, nil, nil, usagef("no target given: use --target DIR")
		}
		return roots, nil, nil, usagef("no data root given: use --root DIR (the directory the server was given as --measure-root-path and the other root flags)")
	}
	var cats []banyandb.Catalog
	for _, s := range rf.catalogs {
		c, err := banyandb.ParseCatalog(s)
		if err != nil {
			return roots, nil, nil, usageError{err}
		}
		cats = append(cats, c)
	}
	loc, err := banyandb.ParseZone(rf.timeZone)
	if err != nil {
		return roots, nil, nil, usagef("invalid --time-zone: %v", err)
	}
	return roots, cats, loc, nil
}

func newBackupCmd(g *globals) *cobra.Command {
	rf := &rootFlags{}
	var (
		parent      string
		forceRehash bool
		tags        []string
		host        string
		node        nodeFlags
		lf          limitFlags
		dryRun      bool
	)
	cmd := &cobra.Command{
		Use:   "backup",
		Short: "Back up a BanyanDB node: live through its snapshot API, or a stopped node's data root",
		Long: `Back up every catalog's data/ tree of a BanyanDB data root (not snapshots/,
and leaving out lock, bluge.pid and *.tmp files).

With --node, the node is running: banyan-backup asks it for a snapshot (hard
links of its parts, taken consistently by the server), backs the snapshot up,
and deletes the snapshot directories it asked for (--keep-snapshot keeps
them), on errors and interrupts too; snapshots left by killed backups are
removed by the next live backup. --root must still name the node's data root,
where snapshots land: one that does not match the node is refused (exit 2).
Data the node holds only in memory (flushed every few seconds) is not in a
snapshot. Without --node the node must be stopped: a root whose group lock
files are held is refused.

Only what the repository lacks is stored: part directories and files
unchanged since the parent backup are not even read. Every backup is still
complete on its own.

--dry-run (-n) makes the backup's decisions and prints them: the parent, the
files unchanged since it and those the backup would read. It reads
directories and metadata only, takes no lock and writes nothing (not with
--node: a live backup's files are known only from its snapshot).`,
		Example: `  banyan-backup backup --repo /srv/bb --root /var/lib/banyandb --node 127.0.0.1:17912
  banyan-backup backup --repo /srv/bb --root /data --node http://10.0.0.5:17913 --group sw_metric
  banyan-backup backup --repo /srv/bb --root /var/lib/banyandb      # node stopped
  banyan-backup backup --repo /srv/bb --root /var/lib/banyandb -n   # what it would read and reuse
  banyan-backup backup --repo /srv/bb --root /data --catalog measure --catalog schema-property --json`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			roots, cats, loc, err := rf.resolve()
			if err != nil {
				return err
			}
			if dryRun && node.addr != "" {
				return usageError{errors.New("--dry-run previews the backup of a stopped node's root, and cannot be given with --node: a live backup's files are known only from the snapshot it asks the node for")}
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
			opts := backup.Options{
				Roots: roots, Catalogs: cats, Location: loc, Parent: parent, ForceRehash: forceRehash,
				Tags: tags, Host: host, ToolVersion: build().Version, Progress: newRateCappedProgress(g, os.Stderr, float64(lim.read.BytesPerSecond())),
				Workers: lim.workers, ReadLimit: lim.read,
			}
			if dryRun {
				opts.Groups = node.groups
				return previewBackup(cmd, g, repo.Repository, opts)
			}
			var res *backup.Result
			if node.addr != "" {
				res, err = backup.RunLive(cmd.Context(), repo.Repository, opts, node.live())
			} else {
				if len(node.groups) > 0 {
					opts.Groups = node.groups
				}
				res, err = backup.Run(cmd.Context(), repo.Repository, opts)
			}
			if err != nil {
				return err
			}
			out := engine.SummarizeRun(res)
			if g.json {
				return printJSON(cmd.OutOrStdout(), out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup %s saved: %d files, %s (%d unchanged, %d read: %s); repository grew by %s in %.2fs\n",
				out.ShortID, out.Files, humanBytes(out.BytesTotal), out.FilesUnchanged, out.FilesRead, humanBytes(out.BytesRead),
				humanBytes(out.BytesAdded), out.DurationSeconds)
			fmt.Fprintf(cmd.OutOrStdout(), "segment names read in %s\n", res.Zone.Describe())
			if out.PacksRecovered > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%d packs (%s) a killed backup had stored were reused, not uploaded again\n", out.PacksRecovered, humanBytes(out.BytesRecovered))
			}
			if n := len(out.AbandonedSnapshotsRemoved); n > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %d snapshot directories left by killed backups: %s\n", n, strings.Join(out.AbandonedSnapshotsRemoved, ", "))
			}
			if out.AbandonedSnapshotsError != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "warning: %s\n", out.AbandonedSnapshotsError)
			}
			switch {
			case node.addr != "" && node.keepSnapshot:
				fmt.Fprintf(cmd.OutOrStdout(), "node snapshot took %.2fs; kept\n", out.SnapshotSeconds)
			case node.addr != "":
				fmt.Fprintf(cmd.OutOrStdout(), "node snapshot took %.2fs; removed in %.2fs\n", out.SnapshotSeconds, out.SnapshotRemoveSeconds)
			}
			if n := out.LackingCount(); n > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "%s in the node's memory, not flushed, when it took its snapshot: the snapshot lists but lacks them, so their rows are not in this backup (%s)\n",
					partsText(n), engine.LackingByGroup(out.LackingParts))
			}
			if out.PrereadFiles > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "read %d live part files (%s) while the node took its snapshot and it was listed; %d of them (%s) were in it\n",
					out.PrereadFiles, humanBytes(out.PrereadBytes), out.PrereadFilesUsed, humanBytes(out.PrereadBytesUsed))
			}
			return nil
		},
	}
	addRootFlags(cmd, rf)
	f := cmd.Flags()
	f.StringVar(&parent, "parent", "", "backup whose unchanged files are reused (default: the newest backup of the same roots)")
	f.BoolVar(&forceRehash, "force-rehash", false, "read and hash every file, even unchanged ones")
	f.BoolVarP(&dryRun, "dry-run", "n", false, "show what the backup would read and reuse, without reading any file's content or writing to the repository (not with --node)")
	f.StringSliceVar(&tags, "tag", nil, "tag the backup (repeatable)")
	f.StringVar(&host, "host", "", "the node the backup is of, by which forget groups backups (default: the host of --node, or this machine's hostname for a node on localhost or a stopped node)")
	node.add(cmd)
	addLimitFlags(cmd, &lf, true)
	return cmd
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
