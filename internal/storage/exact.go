package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ExactReader passes on exactly the declared size of an upload's input and
// fails, cancelling the upload, when the input ends early, holds more or
// fails itself, so that a wrong size never stores a short or long object.
type ExactReader struct {
	r      io.Reader
	left   int64
	cancel context.CancelFunc
	err    error // the input's failure
	done   bool  // the input ended where it should
}

// NewExactReader reads size bytes from r; cancel aborts the upload.
func NewExactReader(r io.Reader, size int64, cancel context.CancelFunc) *ExactReader {
	return &ExactReader{r: r, left: size, cancel: cancel}
}

// Err returns the input's failure, if any.
func (e *ExactReader) Err() error { return e.err }

// Complete reports whether the whole input was read, and no more.
func (e *ExactReader) Complete() bool { return e.left == 0 && e.done }

func (e *ExactReader) Read(p []byte) (int, error) {
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

func (e *ExactReader) failed(err error) error {
	e.err = err
	e.cancel()
	return err
}
