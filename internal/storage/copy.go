package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrShortInput is wrapped by CopyExact's error when the reader ends before
// the announced size.
var ErrShortInput = errors.New("short input")

// ErrLongInput is wrapped by CopyExact's error when the reader yields more
// than the announced size.
var ErrLongInput = errors.New("long input")

// copyChunk bounds the buffer CopyExact reads through; ctx is checked
// before every chunk.
const copyChunk = 64 << 10

// CopyExact copies exactly size bytes from src to dst, for backends
// implementing Put. It fails with an error wrapping ErrShortInput or
// ErrLongInput when src yields fewer or more bytes, returns src's own error
// if src fails (even after size bytes), and returns ctx.Err() as soon as ctx
// is done, checked between chunks.
func CopyExact(ctx context.Context, dst io.Writer, src io.Reader, size int64) error {
	if size < 0 {
		return fmt.Errorf("invalid size %d", size)
	}
	buf := make([]byte, max(1, min(size, copyChunk)))
	var done int64
	for done < size {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := src.Read(buf[:min(int64(len(buf)), size-done)])
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
			done += int64(n)
		}
		if err == io.EOF {
			if done < size {
				return fmt.Errorf("%w: got %d of %d bytes", ErrShortInput, done, size)
			}
			return ctx.Err()
		}
		if err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Read on past size: a reader with more data, or one that reports a
	// failure (such as a checksum mismatch) only at its end, must not
	// produce a stored object.
	n, err := io.ReadFull(src, buf[:1])
	switch {
	case n > 0:
		return fmt.Errorf("%w: more than %d bytes", ErrLongInput, size)
	case err != nil && err != io.EOF:
		return err
	}
	return nil
}
