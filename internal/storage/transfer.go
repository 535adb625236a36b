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

// Finish turns the end of an upload of name into its error: the input's own
// failure first, then the store's (given to fail, which words it), then an
// upload that stopped reading before the input's end.
func (e *ExactReader) Finish(verb, name, location string, uploadErr error, fail func(error) error) error {
	if e.err != nil {
		return fmt.Errorf("cannot %s %s in %s: %w", verb, name, location, e.err)
	}
	if uploadErr != nil {
		return fail(uploadErr)
	}
	if e.left != 0 || !e.done {
		return fmt.Errorf("cannot %s %s in %s: upload ended before the input", verb, name, location)
	}
	return nil
}

// FailReader passes on a download's reads and words its errors (io.EOF
// aside) with fail, as the backend words every other error.
type FailReader struct {
	R    io.Reader
	C    io.Closer
	Fail func(error) error
}

func (r *FailReader) Read(p []byte) (int, error) {
	n, err := r.R.Read(p)
	if err != nil && err != io.EOF {
		err = r.Fail(err)
	}
	return n, err
}

// Close closes the download.
func (r *FailReader) Close() error { return r.C.Close() }
