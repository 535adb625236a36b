package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// restoreFlags are the restore command's flags.
type restoreFlags struct {
	target      rootFlags
	groups      []string
	from, to    string
	granularity string
	noSchema    bool
	merge       bool
	overwrite   bool
	force       bool
	noOwner     bool
	chown       string
	dryRun      bool
	ifEmpty     bool
	verify      string
	compat      compatFlags
	limits      limitFlags
	// set and node select a member of a backup set instead of an ID.
	set, node string
}

func newRestoreCmd(g *globals) *cobra.Command {
	var rf restoreFlags
	cmd := &cobra.Command{
		Use:   "restore ID --target DIR | restore --set SET --node NAME --target DIR",
		Short: "Restore a backup, or part of it, into a data root",
		Long: `Restore a backup into DIR; catalog C goes to DIR/C/data, the layout BanyanDB
expects with --root DIR (per-catalog roots: --measure-root and the like).

Before anything is written the plan is checked: every blob indexed, every pack
present. Files are staged inside each target root (DIR/.banyan-restore, on its
own filesystem: DIR may be a mount point), each pack read once and every blob
hashed as it is written, and moved in only when all are written, verified and
synced; the root carries a RESTORE-IN-PROGRESS marker until then. A damaged
repository fails with exit 3 naming the backup, file and blob; the staged
files are removed and nothing reaches the target. --verify=pre-read reads and
hashes every pack before touching the target at all, then reads them again to
write. A restore killed at any point is resumed by running the same command
again.

Partial restores: --catalog and --group (repeatable), --from/--to (RFC 3339,
a date, or a time ago such as -72h). Whole segments overlapping the window are
restored, or with --granularity part only the parts whose timestamps overlap
it, each shard getting a new .snp listing exactly them. The schema catalog
comes along unless --no-schema.

A live backup cannot hold the parts the node had in memory, which its
snapshot's .snp files list all the same: each shard concerned gets a new .snp
listing the parts it holds, and the restore names what the backup lacks.

A target holding data (an empty lost+found is none) is refused unless --merge
(add the segments and groups it lacks, keep the ones it has) or --overwrite
(replace those the restore brings). A selection that matches no data of the
backup is exit 2. A target a running BanyanDB server holds is refused (--force).
--if-empty, for init containers and first starts, restores only into targets
that hold no data: a target holding data, or a repository without any backup
yet (with ID "latest"), is left alone and the command exits 0. A target
holding an interrupted restore (its marker) is resumed.
Catalogs the target release cannot read are left out, with the reason
(--target-version, --allow-incompatible).

One node of a backup set (a cluster backup): --set SET --node NAME restores
the backup of the old node NAME (as the set names it, host:port; 'banyan-backup
show SET' lists them), with every option above. 'banyan-backup cluster restore'
plans which new node gets which old node and prints this command for each.

The result is checked as 'banyan-backup check' does; errors exit 1.
ID is a unique prefix of a backup id, or "latest"; so is SET, of a set id.`,
		Example: `  banyan-backup restore latest --repo /srv/bb --target /var/lib/banyandb
  banyan-backup restore latest --target /tmp/r --catalog measure --group bk_measure --from 2026-11-20 --to 2026-11-21
  banyan-backup restore 3f2a --target /var/lib/banyandb --merge --dry-run
  banyan-backup restore --set 9c1e --node 10.0.0.2:17912 --target /var/lib/banyandb`,
		Args: argsUsage(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRestore(cmd, g, &rf, args)
		},
	}
	f := cmd.Flags()
	addTargetFlags(cmd, &rf.target)
	f.StringVar(&rf.set, "set", "", "restore one node of this backup set (a unique prefix of a set id, or latest); needs --node")
	f.StringVar(&rf.node, "node", "", "with --set: the old node whose backup to restore, as the set names it (host:port)")
	f.BoolVar(&rf.ifEmpty, "if-empty", false, "restore only into empty targets: exit 0 without restoring when a target holds data, or when the repository has no backup yet (with ID latest)")
	addRestoreOptionFlags(cmd, &rf)
	return cmd
}

// addRestoreOptionFlags adds the flags that say what to restore and how,
// which restore and cluster restore share: every flag but the target's.
func addRestoreOptionFlags(cmd *cobra.Command, rf *restoreFlags) {
	f := cmd.Flags()
	f.StringSliceVar(&rf.groups, "group", nil, "groups to restore (repeatable; default all)")
	f.StringVar(&rf.from, "from", "", "restore data from this time on: RFC 3339, a date (2026-11-20) or a time ago (-72h, -3d)")
	f.StringVar(&rf.to, "to", "", "restore data up to this time (inclusive; a date means its whole day)")
	f.StringVar(&rf.granularity, "granularity", "segment", "what a time window selects: segment (whole segments) or part (only overlapping parts)")
	f.BoolVar(&rf.noSchema, "no-schema", false, "leave the schema catalog out")
	f.BoolVar(&rf.merge, "merge", false, "restore into a target holding data: add what it lacks, never replace")
	f.BoolVar(&rf.overwrite, "overwrite", false, "restore into a target holding data: replace the segments and groups the restore brings")
	f.BoolVar(&rf.force, "force", false, "restore even though a running server holds a lock under the target")
	f.BoolVar(&rf.noOwner, "no-owner", false, "leave restored files owned by the user running the restore (default when not root; as root, files get the owners the backup recorded)")
	f.StringVar(&rf.chown, "chown", "", "give every restored file and directory this owner, UID:GID (e.g. the BanyanDB container's 1000:1000)")
	f.BoolVar(&rf.dryRun, "dry-run", false, "print the plan and check the repository; write nothing")
	f.StringVar(&rf.verify, "verify", "while-writing", "while-writing (read each pack once, hash every blob as it is staged) or pre-read (read and hash everything before writing, then read it again)")
	addCompatFlags(cmd, &rf.compat)
	addLimitFlags(cmd, &rf.limits, false)
}

func runRestore(cmd *cobra.Command, g *globals, rf *restoreFlags, args []string) error {
	ref, err := rf.backupRef(args)
	if err != nil {
		return err
	}
	run, err := rf.setup(g)
	if err != nil {
		return err
	}
	if rf.ifEmpty {
		dir, err := targetHoldsData(run.roots, run.cats)
		if err != nil {
			return err
		}
		if dir != "" {
			return skipRestore(cmd, g, dir+" holds data")
		}
	}
	repo, err := g.openLimitedRepo(cmd.Context(), run.lim)
	if err != nil {
		return err
	}
	defer repo.Close()
	if rf.ifEmpty {
		reason, err := rf.nothingYet(cmd.Context(), repo.Repository, ref)
		if err != nil {
			return err
		}
		if reason != "" {
			return skipRestore(cmd, g, reason)
		}
	}
	b, err := rf.findBackup(cmd.Context(), repo.Repository, ref)
	if err != nil {
		return err
	}
	res, err := run.restore(cmd.Context(), cmd.OutOrStdout(), g.json, repo.Repository, b)
	if err != nil {
		return err
	}
	w := cmd.OutOrStdout()
	if g.json {
		if err := printJSON(w, res); err != nil {
			return err
		}
	} else {
		printRestore(w, b, res)
	}
	return checkFailed(res)
}

// checkFailed is the error of a restore whose check found errors.
func checkFailed(res *restore.Result) error {
	if res.Check != nil {
		if n := res.Check.Errors(); n > 0 {
			return fmt.Errorf("%w: restored into %s, but check found %d errors: a node would not load it as it is", banyandb.ErrCheckFailed, res.Targets[0], n)
		}
	}
	return nil
}

// window reads --from and --to into sel, dates in loc.
func (rf *restoreFlags) window(sel *restore.Selection, now time.Time, loc *time.Location) error {
	var err error
	if sel.From, err = restore.ParseTimeArg(rf.from, now, loc, false); err != nil {
		return usageError{err}
	}
	if sel.To, err = restore.ParseTimeArg(rf.to, now, loc, true); err != nil {
		return usageError{err}
	}
	if !sel.From.IsZero() && !sel.To.IsZero() && sel.To.Before(sel.From) {
		return usagef("--to %s is before --from %s", rf.to, rf.from)
	}
	return nil
}

func printRestore(w io.Writer, b repository.Backup, res *restore.Result) {
	verb := "restored"
	if res.DryRun {
		verb = "would restore"
		fmt.Fprintf(w, "plan for backup %s (%s), granularity %s, verify %s:\n", b.ID.Short(), b.Time.Local().Format(time.RFC3339), res.Granularity, res.Verify)
		for _, u := range res.Units {
			line := fmt.Sprintf("  %-8s %s/%s", u.Action, u.Catalog, u.Path)
			if u.Segment {
				line += fmt.Sprintf("  [%s, %s) format %s", u.Start.Format(time.RFC3339), u.End.Format(time.RFC3339), u.Version)
			}
			fmt.Fprintf(w, "%s  %d parts, %d files, %s\n", line, u.Parts, u.Files, humanBytes(u.Bytes))
		}
		if res.From != nil || res.To != nil {
			fmt.Fprintf(w, "time window: %s to %s\n", timeOrOpen(res.From, "the beginning"), timeOrOpen(res.To, "the end"))
		}
		for c, vs := range res.Versions {
			fmt.Fprintf(w, "segment formats of %s: %v\n", c, vs)
		}
	}
	for _, r := range res.Refused {
		fmt.Fprintf(w, "left out %s: %s\n", r.Catalog, r.Reason)
	}
	for _, c := range res.Conflicts {
		fmt.Fprintf(w, "%s (the target has it): %s\n", c.Action, c.Path)
	}
	for _, l := range res.Lacking {
		fmt.Fprintf(w, "not in the backup: %s/%s: %s the node held in memory when the backup's snapshot was taken (their rows are not restored; their shards get a .snp without them): %s\n",
			l.Catalog, l.Group, partsText(l.Count), strings.Join(l.Parts, " "))
	}
	fmt.Fprintf(w, "%s backup %s into %v: %d groups, %d segments, %d parts, %d files, %s",
		verb, b.ID.Short(), res.Targets, res.Groups, res.Segments, res.Parts, res.Files, humanBytes(res.Bytes))
	if res.DryRun {
		fmt.Fprintf(w, "; every pack is present; nothing was written\n")
		return
	}
	fmt.Fprintf(w, ", every blob verified (%s), in %.2fs\n", res.Verify, res.DurationSeconds)
	if res.SnpWritten > 0 {
		fmt.Fprintf(w, "%d shards got a new part list (.snp) naming exactly the restored parts\n", res.SnpWritten)
	}
	if res.FilesResumed > 0 {
		fmt.Fprintf(w, "(%d files were already complete from the interrupted restore)\n", res.FilesResumed)
	}
	for _, i := range res.Check.Issues {
		fmt.Fprintln(w, i.String())
	}
	fmt.Fprintf(w, "check: %d groups, %d segments, %d shards, %d parts: %d errors, %d warnings\n",
		res.Check.Groups, res.Check.Segments, res.Check.Shards, res.Check.Parts, res.Check.Errors(), res.Check.Warnings())
}

func timeOrOpen(t *time.Time, open string) string {
	if t == nil {
		return open
	}
	return t.Format(time.RFC3339)
}

// partsText is "1 part" or "N parts".
func partsText(n int) string {
	if n == 1 {
		return "1 part"
	}
	return fmt.Sprintf("%d parts", n)
}

// owners says who owns the restored files: --chown, --no-owner, else the
// recorded owners when running as root.
func (rf *restoreFlags) owners() (restore.Owners, error) {
	if rf.chown == "" {
		return restore.Owners{Keep: !rf.noOwner && os.Geteuid() == 0}, nil
	}
	if rf.noOwner {
		return restore.Owners{}, usagef("--chown and --no-owner exclude each other")
	}
	u, g, ok := strings.Cut(rf.chown, ":")
	uid, err1 := strconv.ParseUint(u, 10, 32)
	gid, err2 := strconv.ParseUint(g, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return restore.Owners{}, usagef("invalid --chown %q: want numeric UID:GID such as 1000:1000", rf.chown)
	}
	return restore.Owners{Map: &banyandb.Owner{UID: uint32(uid), GID: uint32(gid)}}, nil
}
