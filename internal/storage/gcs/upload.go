package gcs

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
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

// exactReader passes on exactly left bytes of r and fails, cancelling the
// upload, when r ends early, holds more or fails itself.
type exactReader struct {
	r      io.Reader
	left   int64
	cancel context.CancelFunc
	err    error // the input's failure
	done   bool  // the input ended where it should
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	if e.done {
		return 0, io.EOF
	}
	if e.left == 0 {
		var one [1]byte
		n, err := io.ReadFull(e.r, one[:])
		switch {
		case n > 0:
			return 0, e.failed(errors.New("the input is longer than the object's size"))
		case err == io.EOF:
			e.done = true
			return 0, io.EOF
		default:
			return 0, e.failed(err)
		}
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	switch {
	case err == io.EOF && e.left > 0:
		return n, e.failed(fmt.Errorf("the input ended %d bytes short of the object's size", e.left))
	case err == io.EOF:
		e.done = true
	case err != nil:
		return n, e.failed(err)
	}
	return n, err
}

func (e *exactReader) failed(err error) error {
	e.err = err
	e.cancel()
	return err
}
