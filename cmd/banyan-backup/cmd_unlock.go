package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

func newUnlockCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock",
		Short: "Remove locks left by processes that are gone",
		Long: `Remove the stale locks: those not refreshed for 30 minutes (a running
command refreshes its lock every 5), and those of processes that no longer
run in this command's own PID namespace (same host, boot and namespace).
A lock of a process in another container or on another machine is kept
until it is 30 minutes old, however its pid looks from here: the reason
is printed for each lock kept.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			res, err := repo.RemoveStaleLocks(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			printUnlock(cmd.OutOrStdout(), res)
			return nil
		},
	}
}

// printUnlock writes unlock's result for people: each lock, removed or
// kept, and why.
func printUnlock(w io.Writer, res *repository.UnlockResult) {
	for _, l := range res.Locks {
		verb := "kept live"
		if l.Removed {
			verb = "removed stale"
		}
		if l.Operation == "" {
			fmt.Fprintf(w, "%s lock %s: %s\n", verb, l.ID, l.Reason)
			continue
		}
		fmt.Fprintf(w, "%s lock %s (%q, pid %d on %s): %s\n", verb, l.ID, l.Operation, l.PID, l.Hostname, l.Reason)
	}
	fmt.Fprintf(w, "removed %d stale locks\n", res.Removed)
}
