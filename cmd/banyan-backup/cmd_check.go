package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/compat"
)

// checkJSON is what `check --json` prints: the report with its totals.
type checkJSON struct {
	*banyandb.CheckReport
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

func newCheckCmd(g *globals) *cobra.Command {
	rf := &rootFlags{}
	var targetVersion string
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Check offline that a BanyanDB data root would load cleanly",
		Long: `Check a stopped node's data root (DIR, or --root) by the rules the BanyanDB
server applies on startup, without starting it: run it before starting a node
on restored or copied data. Each finding says what the server will do.

The server tries a shard's .snp files from the highest epoch down: one that
cannot be read or parsed is deleted and the next older tried (a fallback), and
the first that loads wins. It then deletes the part directories the winner does
not list, skips without a word the parts it lists that the shard lacks (their
rows are not served), deletes parts without a valid metadata.json, and empties
a shard where no .snp loads or the winner lists no parts. It deletes
directories under a shard that are not parts (16 hex digits) nor idx/ (stream),
sidx/ (trace) or failed-parts/; segments without metadata or named for
1970-01-01; and refuses to start on a segment format it does not open
(--target-version names the release; default: any known format).

Errors are what loses data or stops the server. Warnings are what the server
survives without loss (a fallback to an older .snp that lists every part, a
stray directory) or what a node usually needs (a schema-property catalog, a
Bluge snapshot in every property shard).

Exit codes: 0 when there are no errors (warnings alone are fine), 1 when there
are errors or the root cannot be read, 2 on usage errors.`,
		Example: `  banyan-backup check /var/lib/banyandb
  banyan-backup check /data --time-zone UTC --json
  banyan-backup check /var/lib/banyandb --target-version 0.10.2`,
		Args: argsUsage(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if rf.root != "" && rf.root != args[0] {
					return usagef("give the data root once: DIR %q and --root %q differ", args[0], rf.root)
				}
				rf.root = args[0]
			}
			roots, cats, loc, err := rf.resolve()
			if err != nil {
				return err
			}
			var release banyandb.Release
			if targetVersion != "" {
				t, err := compat.ParseTarget(targetVersion)
				if err != nil {
					return usageError{err}
				}
				release = t.CheckRelease()
			}
			rep, err := banyandb.CheckRelease(cmd.Context(), roots, banyandb.ScanOptions{Catalogs: cats, Location: loc, ZoneUnchecked: loc == nil}, release)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if g.json {
				if err := printJSON(w, checkJSON{CheckReport: rep, Errors: rep.Errors(), Warnings: rep.Warnings()}); err != nil {
					return err
				}
			} else {
				for _, i := range rep.Issues {
					fmt.Fprintln(w, i.String())
				}
				fmt.Fprintf(w, "checked %d catalogs, %d groups, %d segments, %d shards, %d parts: %d errors, %d warnings\n",
					len(rep.Catalogs), rep.Groups, rep.Segments, rep.Shards, rep.Parts, rep.Errors(), rep.Warnings())
			}
			if n := rep.Errors(); n > 0 {
				return fmt.Errorf("%w: %d errors: a server started on it would delete or skip the data named above, or refuse to start", banyandb.ErrCheckFailed, n)
			}
			return nil
		},
	}
	addRootFlags(cmd, rf)
	cmd.Flags().StringVar(&targetVersion, "target-version", "", "BanyanDB release that will start on the root (e.g. 0.11, 0.10.2): its segment formats only are accepted")
	return cmd
}
