package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// checkJSON is what `check --json` prints: the report with its totals.
type checkJSON struct {
	*banyandb.CheckReport
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

func newCheckCmd(g *globals) *cobra.Command {
	rf := &rootFlags{}
	cmd := &cobra.Command{
		Use:   "check [DIR]",
		Short: "Check offline that a BanyanDB data root would load cleanly",
		Long: `Check a stopped node's data root (DIR, or --root) by the rules the BanyanDB
server applies on startup, without starting it: run it before starting a node
on restored or copied data.

Errors are what the server would delete or refuse to start on: a segment
without metadata, or with a segment format it does not know; a shard whose
newest .snp does not parse, or that has parts but no .snp; a part directory
not listed in the newest .snp; a listed part that is missing or has no valid
metadata.json. Warnings are what it would only clean up (stray directories in
a shard, unreadable older .snp files) or what a node usually needs (a
schema-property catalog, a Bluge snapshot in every property shard).

Exit codes: 0 when there are no errors (warnings alone are fine), 1 when there
are errors or the root cannot be read, 2 on usage errors.`,
		Example: `  banyan-backup check /var/lib/banyandb
  banyan-backup check /data --time-zone UTC --json`,
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
			rep, err := banyandb.Check(cmd.Context(), roots, banyandb.ScanOptions{Catalogs: cats, Location: loc})
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
				return fmt.Errorf("%w: %d errors: a server started on it would delete the data named above or refuse to start", banyandb.ErrCheckFailed, n)
			}
			return nil
		},
	}
	addRootFlags(cmd, rf)
	return cmd
}
