package repository

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// ReadPack reads a whole pack into buf (grown as needed) and checks it
// against its id. Any damaged byte, blob or not, fails with ErrIntegrity.
func (r *Repository) ReadPack(ctx context.Context, id ID, buf []byte) ([]byte, error) {
	size, ok := r.index.PackSize(id)
	if !ok {
		return nil, fmt.Errorf("%w: pack %s is in no index", ErrIntegrity, id.Short())
	}
	rc, err := r.be.Get(ctx, packName(id), 0, -1)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, fmt.Errorf("%w: pack %s is missing", ErrIntegrity, id.Short())
		}
		return nil, fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
	}
	defer rc.Close()
	if int64(cap(buf)) < size+1 {
		buf = make([]byte, size+1)
	}
	buf = buf[:size+1]
	n, err := io.ReadFull(rc, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("cannot read pack %s: %w", id.Short(), err)
	}
	if int64(n) != size {
		return nil, fmt.Errorf("%w: pack %s has a size other than the %d bytes its index says", ErrIntegrity, id.Short(), size)
	}
	if Hash(buf[:n]) != id {
		return nil, fmt.Errorf("%w: pack %s does not match its hash: it is damaged", ErrIntegrity, id.Short())
	}
	return buf[:n], nil
}

// BlobFromPack returns a blob's plaintext from a pack ReadPack returned,
// checking the blob's hash. buf is reused for decompression when possible.
func (r *Repository) BlobFromPack(loc Location, pack, buf []byte) ([]byte, error) {
	end := uint64(loc.Offset) + uint64(loc.Length)
	if end > uint64(len(pack)) {
		return nil, fmt.Errorf("%w: blob %s lies past the end of pack %s", ErrIntegrity, loc.ID.Short(), loc.Pack.Short())
	}
	return r.decodeBlob(loc, pack[loc.Offset:end], buf)
}
