// Package retry wraps a storage.Backend so that operations failing with a
// transient error (one wrapping storage.ErrTransient: a dropped connection,
// a busy or failing server) are tried again after an exponential backoff
// with full jitter. Every other error, such as denied access, a missing
// bucket or object, or a cancelled context, is returned at once.
package retry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Policy says how often and how patiently to retry.
type Policy struct {
	// Attempts is the number of tries in all, the first included
	// (0: DefaultAttempts).
	Attempts int
	// Base is the backoff before the first retry; each later one doubles
	// it up to Max. The actual wait is drawn uniformly from [0, backoff]
	// (full jitter), so that clients failing together do not retry
	// together. 0 takes the defaults.
	Base, Max time.Duration
}

// Defaults: 6 tries within about 20 seconds at worst.
const (
	DefaultAttempts = 6
	DefaultBase     = 250 * time.Millisecond
	DefaultMax      = 8 * time.Second
)

// Backend is a storage.Backend that retries transient failures of another.
type Backend struct {
	be storage.Backend
	p  Policy
}

// Wrap returns be with retries.
func Wrap(be storage.Backend, p Policy) *Backend {
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Base <= 0 {
		p.Base = DefaultBase
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	return &Backend{be: be, p: p}
}

// Unwrap returns the wrapped backend.
func (b *Backend) Unwrap() storage.Backend { return b.be }

// do runs fn until it succeeds, fails for good, or attempts run out.
func (b *Backend) do(ctx context.Context, attempts int, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		var stop final
		if errors.As(err, &stop) {
			return stop.err
		}
		if err == nil || !errors.Is(err, storage.ErrTransient) || attempt >= attempts {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return err
		}
		backoff := b.p.Base << (attempt - 1)
		if backoff > b.p.Max || backoff <= 0 {
			backoff = b.p.Max
		}
		t := time.NewTimer(rand.N(backoff + 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// final marks an error not to be retried, whatever it wraps.
type final struct{ err error }

func (f final) Error() string { return f.err.Error() }

// Location implements storage.Backend.
func (b *Backend) Location() string { return b.be.Location() }

// Put implements storage.Backend. It retries only when r can be rewound
// (an io.Seeker, as files and byte readers are): the object must be sent
// again from its start.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.write(ctx, name, size, r, b.be.Put)
}

// Create implements storage.Backend. A Create retried after a transient
// failure may find the object written by its own earlier attempt, and then
// reports ErrExists.
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.write(ctx, name, size, r, b.be.Create)
}

func (b *Backend) write(ctx context.Context, name string, size int64, r io.Reader,
	op func(context.Context, string, int64, io.Reader) error) error {
	s, ok := r.(io.Seeker)
	if !ok {
		return op(ctx, name, size, r)
	}
	start, err := s.Seek(0, io.SeekCurrent)
	if err != nil {
		return op(ctx, name, size, r)
	}
	first := true
	return b.do(ctx, b.p.Attempts, func() error {
		if !first {
			if _, err := s.Seek(start, io.SeekStart); err != nil {
				return fmt.Errorf("cannot write %s: cannot rewind the input: %w", name, err)
			}
		}
		first = false
		return op(ctx, name, size, r)
	})
}

// Get implements storage.Backend. Opening the object is retried; a read
// that fails midway is the caller's to repeat.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	var rc io.ReadCloser
	err := b.do(ctx, b.p.Attempts, func() error {
		var err error
		rc, err = b.be.Get(ctx, name, offset, length)
		return err
	})
	return rc, err
}

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	var info storage.ObjectInfo
	err := b.do(ctx, b.p.Attempts, func() error {
		var err error
		info, err = b.be.Stat(ctx, name)
		return err
	})
	return info, err
}

// List implements storage.Backend. A listing is retried only while fn has
// seen nothing, so that no object is reported twice.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	seen := false
	var fnErr error
	err := b.do(ctx, b.p.Attempts, func() error {
		err := b.be.List(ctx, prefix, func(info storage.ObjectInfo) error {
			seen = true
			fnErr = fn(info)
			return fnErr
		})
		if seen && err != nil {
			return final{err}
		}
		return err
	})
	if fnErr != nil && errors.Is(err, fnErr) {
		return fnErr
	}
	return err
}

// Delete implements storage.Backend. A retry that finds the object gone
// after a failed attempt counts as success: that attempt deleted it.
func (b *Backend) Delete(ctx context.Context, name string) error {
	tried := false
	return b.do(ctx, b.p.Attempts, func() error {
		err := b.be.Delete(ctx, name)
		if tried && errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		tried = true
		return err
	})
}

// StageFile implements storage.Backend: the wrapped backend's staging,
// which is not retried.
func (b *Backend) StageFile() (*os.File, error) { return b.be.StageFile() }

// PutStaged implements storage.Backend. The wrapped backend takes the
// staged file over and closes it (and removes its name, if it has one) even
// when it fails, so every attempt gets a handle of its own. A nameless
// file (storage.StageTemp's on Unix) is kept open by PutStaged until it is
// done, and each attempt gets a duplicate of its descriptor. A named file
// (the local backend's, renamed into place) gets a second hard link, next
// to it (its name followed by ".retry"), kept until PutStaged is done, and
// every later attempt a fresh link of its own; where no link can be made,
// the staged put is tried once.
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	if storage.Nameless(f) {
		return b.putNameless(ctx, name, f)
	}
	keep := f.Name() + ".retry"
	if err := os.Link(f.Name(), keep); err != nil {
		return b.be.PutStaged(ctx, name, f)
	}
	defer func() { _ = os.Remove(keep) }()
	attempt := 0
	return b.do(ctx, b.p.Attempts, func() error {
		attempt++
		staged := f
		if attempt > 1 {
			var err error
			if staged, err = relink(keep, attempt); err != nil {
				return final{fmt.Errorf("cannot write %s: cannot stage it again: %w", name, err)}
			}
		}
		return b.be.PutStaged(ctx, name, staged)
	})
}

// putNameless is PutStaged of a file without a name: every attempt takes
// over a duplicate of f's descriptor, and f is closed at the end. The
// attempts share the file offset, which is fine: they run one after the
// other, each reading from the start (storage.PutFile seeks there).
func (b *Backend) putNameless(ctx context.Context, name string, f *os.File) error {
	defer f.Close()
	return b.do(ctx, b.p.Attempts, func() error {
		staged, err := storage.DupStaged(f)
		if err != nil {
			return final{fmt.Errorf("cannot write %s: %w", name, err)}
		}
		return b.be.PutStaged(ctx, name, staged)
	})
}

// relink makes a new hard link to keep for an attempt and opens it.
func relink(keep string, attempt int) (*os.File, error) {
	p := fmt.Sprintf("%s.%d", keep, attempt)
	if err := os.Link(keep, p); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		_ = os.Remove(p)
		return nil, err
	}
	return f, nil
}

// Close implements storage.Backend.
func (b *Backend) Close() error { return b.be.Close() }
