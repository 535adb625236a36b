package main

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/compat"
	"github.com/banyan-backup/banyan-backup/internal/repository"
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
func (cf *compatFlags) refused(ctx context.Context, b repository.Backup, roots banyandb.Roots, loc *time.Location, sel []banyandb.Catalog, noSchema bool) (map[banyandb.Catalog]string, error) {
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
	var chosen []banyandb.Catalog
	for _, c := range in.Catalogs {
		if wanted(c, sel, noSchema) {
			chosen = append(chosen, c)
		}
	}
	in.Catalogs = chosen
	ds := compat.Decide(in, t, compat.Options{AllowIncompatible: cf.allowIncompatible})
	refused := map[banyandb.Catalog]string{}
	data, schemaRefused := 0, false
	for _, d := range ds {
		if !d.Allowed {
			refused[d.Catalog] = strings.TrimSpace(d.Reason + " (" + d.Hint + ")")
			schemaRefused = schemaRefused || d.Catalog == banyandb.SchemaProperty
		} else if d.Catalog != banyandb.SchemaProperty {
			data++
		}
	}
	if len(refused) > 0 && (data == 0 || schemaRefused) {
		return nil, compat.Err(ds, t)
	}
	return refused, nil
}

// wanted reports whether a restore of the selected catalogs includes c.
func wanted(c banyandb.Catalog, sel []banyandb.Catalog, noSchema bool) bool {
	if c == banyandb.SchemaProperty {
		return !noSchema
	}
	if len(sel) == 0 {
		return true
	}
	for _, s := range sel {
		if s == c {
			return true
		}
	}
	return false
}
