package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newUnlockCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "unlock",
		Short: "Remove locks left by processes that are gone",
		Args:  argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			repo, err := g.openRepo(cmd.Context())
			if err != nil {
				return err
			}
			defer repo.Close()
			n, err := repo.RemoveStaleLocks(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(cmd.OutOrStdout(), map[string]int{"removed": n})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d stale locks\n", n)
			return nil
		},
	}
}
