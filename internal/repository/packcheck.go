package repository

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/banyan-backup/banyan-backup/internal/parallel"
	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// MissingPacks returns those of the given packs that the backend does not
// hold, or holds with another size than the index records, sorted. It asks
// for each pack's size, a few at a time, so it costs one request per pack
// and reads no data.
func (r *Repository) MissingPacks(ctx context.Context, packs []ID) ([]ID, error) {
	var mu sync.Mutex
	var missing []ID
	err := parallel.ForEach(ctx, 8, packs, func() func(context.Context, ID) error {
		return func(ctx context.Context, id ID) error {
			info, err := r.be.Stat(ctx, packName(id))
			want, indexed := r.index.PackSize(id)
			if errors.Is(err, storage.ErrNotFound) || (err == nil && indexed && info.Size != want) {
				mu.Lock()
				missing = append(missing, id)
				mu.Unlock()
				return nil
			}
			if err != nil {
				return fmt.Errorf("cannot look up pack %s in %s: %w", id.Short(), r.be.Location(), err)
			}
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(missing, func(i, j int) bool { return missing[i].String() < missing[j].String() })
	return missing, nil
}
