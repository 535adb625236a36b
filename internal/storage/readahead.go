package storage

import (
	"cmp"
	"context"
	"errors"
	"io"
	"sync"
)

// rangeAttempts is how often a range whose read fails midway is asked for
// again. The retry wrapper retries opening a read, not a body cut short.
const rangeAttempts = 3

// ReadAhead reads whole objects of known size front to back through ranged
// Gets of Chunk bytes, up to Parallel at once: while the caller consumes
// one range, the next ones are on their way, so that a reader of an object
// store is not bound by one stream's rate or by the wait for each
// request's first byte. Its buffers are reused from object to object; it
// serves one object at a time.
type ReadAhead struct {
	chunk int64
	free  chan []byte // buffers not in use; nil slices until first used
}

// NewReadAhead returns a ReadAhead of parallel buffers of chunk bytes
// (both at least 1).
func NewReadAhead(chunk int64, parallel int) *ReadAhead {
	ra := &ReadAhead{chunk: max(chunk, 1), free: make(chan []byte, max(parallel, 1))}
	for range cap(ra.free) {
		ra.free <- nil
	}
	return ra
}

// Open returns a reader of the first size bytes of object name in be, and
// of one byte more when the object is longer, so that a caller that knows
// the size sees that it is not (the last range asks for one byte past the
// end: a range past the end is short, by the Backend contract). An object shorter than size ends the reader
// with io.ErrUnexpectedEOF. A range whose read fails is asked for again, up
// to three times in all.
// Close stops the reads still running and waits for them; the reader and
// its errors are then done with.
func (ra *ReadAhead) Open(ctx context.Context, be Backend, name string, size int64) io.ReadCloser {
	ctx, cancel := context.WithCancel(ctx)
	r := &aheadReader{ra: ra, ctx: ctx, cancel: cancel, size: size, queue: make(chan *rangeFetch, cap(ra.free))}
	r.wg.Add(1)
	go r.feed(ctx, be, name, size)
	return r
}

// rangeFetch is one range being read into buf.
type rangeFetch struct {
	done chan struct{}
	buf  []byte
	err  error
}

type aheadReader struct {
	ra     *ReadAhead
	ctx    context.Context
	cancel context.CancelFunc
	size   int64
	served int64            // bytes of the ranges handed out
	queue  chan *rangeFetch // in object order; closed when every range is queued
	wg     sync.WaitGroup
	cur    *rangeFetch
	off    int
	err    error
}

// feed starts a read of each range in turn as a buffer comes free.
func (r *aheadReader) feed(ctx context.Context, be Backend, name string, size int64) {
	defer r.wg.Done()
	defer close(r.queue)
	for off := int64(0); off < size; off += r.ra.chunk {
		var buf []byte
		select {
		case buf = <-r.ra.free:
		case <-ctx.Done():
			return
		}
		if ctx.Err() != nil {
			r.ra.free <- buf
			return
		}
		if int64(cap(buf)) < r.ra.chunk+1 {
			buf = make([]byte, r.ra.chunk+1)
		}
		need := min(r.ra.chunk, size-off)
		ask := need
		if off+need == size {
			ask++ // the last range: one byte more shows a longer object
		}
		f := &rangeFetch{done: make(chan struct{}), buf: buf[:ask]}
		r.wg.Add(1)
		go func(off int64) {
			defer r.wg.Done()
			defer close(f.done)
			var n int
			n, f.err = readRange(ctx, be, name, off, f.buf, int(need))
			f.buf = f.buf[:n]
		}(off)
		r.queue <- f // never blocks: the queue holds as many as there are buffers
	}
}

// readRange reads the object's bytes from off into buf, as many as it has
// up to len(buf), and at least need of them.
func readRange(ctx context.Context, be Backend, name string, off int64, buf []byte, need int) (int, error) {
	for attempt := 1; ; attempt++ {
		var n int
		rc, err := be.Get(ctx, name, off, int64(len(buf)))
		if err == nil {
			n, err = io.ReadFull(rc, buf)
			rc.Close()
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF) && n >= need:
				err = nil // the object ends within the byte asked for beyond it
			case errors.Is(err, io.EOF):
				err = io.ErrUnexpectedEOF
			}
		}
		if err == nil || attempt == rangeAttempts || ctx.Err() != nil || errors.Is(err, ErrNotFound) {
			return n, err
		}
	}
}

func (r *aheadReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for r.cur == nil || r.off == len(r.cur.buf) {
		r.release()
		f, ok := <-r.queue
		if !ok {
			r.err = io.EOF
			if r.served < r.size { // the feeder stopped early: cancelled
				r.err = cmp.Or(r.ctx.Err(), io.ErrUnexpectedEOF)
			}
			return 0, r.err
		}
		<-f.done
		r.cur, r.off = f, 0
		if f.err != nil {
			r.err = f.err
			return 0, r.err
		}
		r.served += int64(len(f.buf))
	}
	n := copy(p, r.cur.buf[r.off:])
	r.off += n
	return n, nil
}

// release gives the current range's buffer back.
func (r *aheadReader) release() {
	if r.cur != nil {
		r.ra.free <- r.cur.buf[:0]
		r.cur = nil
	}
}

// Close stops the reads, waits for them and gives every buffer back.
func (r *aheadReader) Close() error {
	r.cancel()
	r.release()
	for f := range r.queue {
		<-f.done
		r.ra.free <- f.buf[:0]
	}
	r.wg.Wait()
	if r.err == nil {
		r.err = errors.New("read after close")
	}
	return nil
}
