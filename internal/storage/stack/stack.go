// Package stack assembles the storage wrappers around a repository's
// backend, in one place and in the one order that keeps their promises:
//
//	retry → rate limits → counting → backend
//
// Retry is outermost, so that it is handed the caller's own reader (a file
// or a byte reader), which it can rewind to send an object again; the
// limiter gives the layers below a reader of its own, which cannot be
// rewound. Every attempt then passes the limiter again, so retries are
// paid for, and reaches the counter, which counts each attempt as an
// operation and the bytes of the object once stored.
package stack

import (
	"context"

	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
	"github.com/banyan-backup/banyan-backup/internal/storage/counting"
	"github.com/banyan-backup/banyan-backup/internal/storage/retry"
)

// Options configures the wrappers.
type Options struct {
	// Retry is the policy for transient failures; the zero value takes
	// retry's defaults.
	Retry retry.Policy
	// Upload limits the bytes stored, Download the bytes read; nil: no
	// limit.
	Upload   *ratelimit.Limiter
	Download *ratelimit.Limiter
}

// Stack is a backend with its wrappers.
type Stack struct {
	top     storage.Backend
	counter *counting.Backend
}

// Build wraps base: counting, then the rate limits, then retry.
func Build(base storage.Backend, o Options) *Stack {
	c := counting.Wrap(base)
	return &Stack{
		top:     retry.Wrap(ratelimit.WrapBackend(c, o.Upload, o.Download), o.Retry),
		counter: c,
	}
}

// Open opens the backend for url (see backends.OpenWith) and builds the
// stack on it.
func Open(ctx context.Context, url string, bo backends.Options, o Options) (*Stack, error) {
	be, err := backends.OpenWith(ctx, url, bo)
	if err != nil {
		return nil, err
	}
	return Build(be, o), nil
}

// Backend returns the outermost backend, the one to use.
func (s *Stack) Backend() storage.Backend { return s.top }

// Counts returns what has gone through to the backend so far.
func (s *Stack) Counts() counting.Counts { return s.counter.Counts() }

// Close closes the backend.
func (s *Stack) Close() error { return s.top.Close() }
