package gcs

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// checksum returns the CRC32C of the next size bytes of r, as the object
// resource's crc32c field wants it (base64 of the big-endian value), when r
// can be read twice: it reads them and seeks back. Cloud Storage then
// refuses an upload whose bytes do not match. For an input that cannot seek
// (or a short one, which the upload itself reports) it returns "".
func checksum(r io.Reader, size int64) (string, error) {
	s, ok := r.(io.Seeker)
	if !ok {
		return "", nil
	}
	start, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return "", nil // a pipe or the like: no checksum
	}
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, io.LimitReader(r, size))
	if _, serr := s.Seek(start, io.SeekStart); serr != nil {
		return "", fmt.Errorf("cannot rewind the input after checksumming it: %w", serr)
	}
	if err != nil {
		return "", fmt.Errorf("cannot read the input: %w", err)
	}
	if n != size {
		return "", nil
	}
	return base64.StdEncoding.EncodeToString(binary.BigEndian.AppendUint32(nil, h.Sum32())), nil
}
