package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit, build date and Go version of this binary",
		Long: `Print which build this is: the version, commit and build date stamped in by
scripts/build.sh (the container image's build uses it), or else what the Go
toolchain recorded in the binary (the module version of 'go install', the
VCS revision and time of a build in a git checkout). --json prints the same
fields as JSON; serve exports them as banyan_backup_build_info.`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := build()
			if g.json {
				return printJSON(cmd.OutOrStdout(), info)
			}
			modified := ""
			if info.Modified {
				modified = " (modified)"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "banyan-backup %s\ncommit:     %s%s\nbuilt:      %s\ngo version: %s\nplatform:   %s\n",
				info.Version, info.Commit, modified, info.Date, info.GoVersion, info.Platform)
			return nil
		},
	}
}
