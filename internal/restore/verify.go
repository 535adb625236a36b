package restore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/parallel"
	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// blobUse is one blob the plan needs and the first file that needs it.
type blobUse struct {
	loc  repository.Location
	file *planFile
}

// packNeeds is what the plan reads of one pack.
type packNeeds struct {
	pack  repository.ID
	blobs []blobUse // in offset order, each blob once
}

// neededPacks lists, per pack, the blobs the plan needs. Every blob must be
// indexed: the error names the backup, the files and the blobs that are not.
func neededPacks(repo *repository.Repository, p *plan, b repository.Backup) ([]*packNeeds, error) {
	byPack := map[repository.ID]*packNeeds{}
	seen := map[repository.ID]bool{}
	var missing []string
	for i := range p.files {
		f := &p.files[i]
		if f.done {
			continue
		}
		for _, id := range f.node.Blobs {
			if seen[id] {
				continue
			}
			seen[id] = true
			loc, ok := repo.Index().Lookup(id)
			if !ok {
				if len(missing) < 10 {
					missing = append(missing, fmt.Sprintf("%s/%s (blob %s)", f.cat, f.rel, id.Short()))
				}
				continue
			}
			pn := byPack[loc.Pack]
			if pn == nil {
				pn = &packNeeds{pack: loc.Pack}
				byPack[loc.Pack] = pn
			}
			pn.blobs = append(pn.blobs, blobUse{loc: loc, file: f})
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: backup %s needs blobs the repository lacks: %s; nothing was written; run `banyan-backup verify`", repository.ErrIntegrity, b.ID.Short(), strings.Join(missing, ", "))
	}
	packs := make([]*packNeeds, 0, len(byPack))
	for _, pn := range byPack {
		sort.Slice(pn.blobs, func(i, j int) bool { return pn.blobs[i].loc.Offset < pn.blobs[j].loc.Offset })
		packs = append(packs, pn)
	}
	sort.Slice(packs, func(i, j int) bool { return packs[i].pack.String() < packs[j].pack.String() })
	return packs, nil
}

// checkPacksPresent asks the backend for every needed pack.
func checkPacksPresent(ctx context.Context, repo *repository.Repository, packs []*packNeeds, b repository.Backup) error {
	ids := make([]repository.ID, len(packs))
	for i, pn := range packs {
		ids[i] = pn.pack
	}
	missing, err := repo.MissingPacks(ctx, ids)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	byID := map[repository.ID]*packNeeds{}
	for _, pn := range packs {
		byID[pn.pack] = pn
	}
	var what []string
	for _, id := range missing[:min(len(missing), 5)] {
		u := byID[id].blobs[0]
		what = append(what, fmt.Sprintf("pack %s (holding %s/%s, blob %s)", id.Short(), u.file.cat, u.file.rel, u.loc.ID.Short()))
	}
	return fmt.Errorf("%w: backup %s needs %d packs that are missing or truncated in %s: %s; nothing was written; run `banyan-backup verify`",
		repository.ErrIntegrity, b.ID.Short(), len(missing), repo.Location(), strings.Join(what, ", "))
}

// readAll reads and hashes every needed pack, writing nothing: a full
// verification before the target is touched. A damaged blob or pack fails
// with ErrIntegrity naming the backup, a file that needs it and the blob.
func readAll(ctx context.Context, repo *repository.Repository, packs []*packNeeds, b repository.Backup, workers int, rep progress.Reporter) error {
	var total int64
	for _, pn := range packs {
		for _, u := range pn.blobs {
			total += int64(u.loc.RawLength)
		}
	}
	rep.Start("verify", int64(len(packs)), total)
	defer rep.Done()
	return parallel.ForEach(ctx, workers, packs, func() func(context.Context, *packNeeds) error {
		scanner := repo.NewPackScanner()
		return func(ctx context.Context, pn *packNeeds) error {
			wanted := make([]repository.Location, len(pn.blobs))
			for i, u := range pn.blobs {
				wanted[i] = u.loc
			}
			var bytes int64
			err := scanner.Scan(ctx, pn.pack, wanted, func(loc repository.Location, _ []byte) error {
				bytes += int64(loc.RawLength)
				return nil
			})
			if err != nil {
				return damaged(fmt.Errorf("cannot read pack %s: %w", pn.pack.Short(), err), pn.pack, pn.blobs, b)
			}
			rep.Advance(1, bytes)
			return nil
		}
	})
}

// damaged names the backup, file and blob of a failed read of pack, whose
// blobs the restore uses as uses say. An error other than ErrIntegrity is
// returned as it is.
func damaged(err error, pack repository.ID, uses []blobUse, b repository.Backup) error {
	if !errors.Is(err, repository.ErrIntegrity) {
		return err
	}
	use := uses[0]
	var be *repository.BlobError
	if errors.As(err, &be) {
		for _, u := range uses {
			if u.loc.ID == be.Blob {
				use = u
			}
		}
	}
	return fmt.Errorf("backup %s: file %s/%s (blob %s, pack %s): %w", b.ID.Short(), use.file.cat, use.file.rel, use.loc.ID.Short(), pack.Short(), err)
}
