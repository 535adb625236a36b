package banyandb

import (
	"fmt"
	"io"
	"os"
)

// MaxMetadataSize is the largest metadata file banyan-backup reads: a
// part's metadata.json (manifest.json of a sidx part), a segment's
// metadata, a shard's .snp. Real ones hold a few hundred bytes; a .snp of
// 1 MiB would list some 55,000 parts.
const MaxMetadataSize = 1 << 20

// ReadMetadataFile reads a metadata file whole. A file that is not a
// regular file, or is larger than MaxMetadataSize, is not read: the error
// says so (a missing file gives an error matching fs.ErrNotExist).
func ReadMetadataFile(path string) ([]byte, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("cannot read %s: not a regular file (%v)", path, st.Mode().Type())
	}
	if st.Size() > MaxMetadataSize {
		return nil, tooLarge(path, st.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if len(b) > MaxMetadataSize {
		return nil, tooLarge(path, int64(len(b)))
	}
	return b, nil
}

func tooLarge(path string, size int64) error {
	return fmt.Errorf("cannot read %s: it holds %d bytes, more than the %d (1 MiB) that any metadata file holds", path, size, MaxMetadataSize)
}
