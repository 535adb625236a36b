package main

import (
	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/compat"
	"github.com/banyan-backup/banyan-backup/internal/engine"
)

// compatFlags say which BanyanDB release a restore is for.
type compatFlags struct {
	targetVersion     string
	allowIncompatible bool
}

func addCompatFlags(cmd *cobra.Command, cf *compatFlags) {
	f := cmd.Flags()
	f.StringVar(&cf.targetVersion, "target-version", "", "BanyanDB release the target runs (e.g. 0.11, 0.10.2); default: read from the target's existing data, else not checked")
	f.BoolVar(&cf.allowIncompatible, "allow-incompatible", false, "restore catalogs refused for a known incompatibility (a server still opens them, but may fail on them)")
}

// target parses the flags; a release that is not known is a usage error.
func (cf *compatFlags) target() (engine.RestoreTarget, error) {
	t := engine.RestoreTarget{AllowIncompatible: cf.allowIncompatible}
	if cf.targetVersion != "" {
		r, err := compat.ParseTarget(cf.targetVersion)
		if err != nil {
			return t, usageError{err}
		}
		t.Release = &r
	}
	return t, nil
}
