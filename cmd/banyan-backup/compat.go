package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/compat"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
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

// refused decides, per catalog of the backup that the selection restores,
// whether the target release can use it. Catalogs it cannot are returned
// with the reason, to be left out. When nothing usable would remain (every
// data catalog refused, or the schema refused), the whole restore is
// refused with an error naming both releases and what to do.
func (cf *compatFlags) refused(ctx context.Context, b repository.Backup, roots banyandb.Roots, loc *time.Location, sel restore.Selection) (map[banyandb.Catalog]string, error) {
	var t compat.Target
	if cf.targetVersion != "" {
		var err error
		if t, err = compat.ParseTarget(cf.targetVersion); err != nil {
			return nil, usageError{err}
		}
	} else {
		var ok bool
		var err error
		t, ok, err = compat.TargetFromRoot(ctx, roots, banyandb.ScanOptions{Location: loc})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
	}
	in := compat.FromManifest(b.Manifest)
	chosen := in.Catalogs[:0]
	for _, c := range in.Catalogs {
		if sel.IncludesCatalog(c) {
			chosen = append(chosen, c)
		}
	}
	in.Catalogs = chosen
	return compat.Refusals(compat.Decide(in, t, compat.Options{AllowIncompatible: cf.allowIncompatible}), t)
}
