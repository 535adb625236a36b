package engine

import (
	"context"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/compat"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// RestoreTarget says which BanyanDB release a restore is for.
type RestoreTarget struct {
	// Release is the target's release; nil reads it from the data already
	// in the target roots, and checks nothing when there is none.
	Release *compat.Target
	// AllowIncompatible restores catalogs refused for a known
	// incompatibility that a server survives.
	AllowIncompatible bool
	// IntoEmpty says the restore writes only into roots without data (no
	// --merge or --overwrite): a target holding data is refused as such,
	// so its release is not read.
	IntoEmpty bool
}

// RestoreRefusals decides, per catalog of backup b that the selection
// restores, whether the target release can use it. Catalogs it cannot are
// returned with the reason, to be left out. When nothing usable would
// remain (every data catalog refused, or the schema refused), the whole
// restore is refused with an error (compat.ErrIncompatible) naming both
// releases and what to do. roots and loc describe the target, read when
// t.Release is nil.
func RestoreRefusals(ctx context.Context, b repository.Backup, roots banyandb.Roots, loc *time.Location,
	sel restore.Selection, t RestoreTarget) (map[banyandb.Catalog]string, error) {
	in := compat.FromManifest(b.Manifest)
	chosen := in.Catalogs[:0]
	for _, c := range in.Catalogs {
		if sel.IncludesCatalog(c) {
			chosen = append(chosen, c)
		}
	}
	in.Catalogs = chosen
	var target compat.Target
	switch {
	case t.Release != nil:
		target = *t.Release
	case t.IntoEmpty:
		return nil, nil
	default:
		// The release is read from the data the target had before this
		// restore began, not from what an interrupted run of it moved in.
		had, err := restore.TargetHadData(roots, chosen, b.ID)
		if err != nil || !had {
			return nil, err
		}
		found, ok, err := compat.TargetFromRoot(ctx, roots, banyandb.ScanOptions{Location: loc, ZoneUnchecked: true})
		if err != nil || !ok {
			return nil, err
		}
		target = found
	}
	return compat.Refusals(compat.Decide(in, target, compat.Options{AllowIncompatible: t.AllowIncompatible}), target)
}
