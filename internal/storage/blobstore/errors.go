package blobstore

import (
	"context"
	"errors"
	"io"
	"net"
	"regexp"
	"strings"
	"syscall"

	"gocloud.dev/gcerrors"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// blobPrefix is how gocloud.dev starts its messages; the location we print
// says the same more plainly.
var blobPrefix = regexp.MustCompile(`^blob(?: \(key "[^"]*"\))? \(code=\w+\): `)

// Fail wraps the error of a vendor call for verb on name (name "" for the
// bucket itself): one line, wrapping the vendor's error and the storage
// sentinel it maps to.
func (b *Backend) Fail(ctx context.Context, verb, name string, err error) error {
	return b.fail(ctx, verb, name, err)
}

func (b *Backend) fail(ctx context.Context, verb, name string, err error) error {
	sentinel := b.classify(err)
	if cerr := ctx.Err(); cerr != nil {
		sentinel = cerr
	}
	text := err.Error()
	if b.opts.Describe != nil {
		text = b.opts.Describe(err)
	}
	cause := strings.Join(strings.Fields(blobPrefix.ReplaceAllString(text, "")), " ")
	return storage.NewOpError(verb, name, b.opts.Location, sentinel, cause, err)
}

// classify maps err to a storage sentinel, or nil for other errors.
func (b *Backend) classify(err error) error {
	if b.opts.Classify != nil {
		if s := b.opts.Classify(err); s != nil {
			return s
		}
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return storage.ErrNotFound
	case gcerrors.AlreadyExists, gcerrors.FailedPrecondition:
		// FailedPrecondition is how every driver reports a failed
		// conditional write, the only condition we send.
		return storage.ErrExists
	case gcerrors.PermissionDenied:
		return storage.ErrPermission
	case gcerrors.Canceled:
		return context.Canceled
	case gcerrors.ResourceExhausted, gcerrors.DeadlineExceeded:
		return storage.ErrTransient
	}
	if IsNetworkError(err) {
		return storage.ErrTransient
	}
	return nil
}

// IsNetworkError reports whether err is a failure of the connection rather
// than an answer of the server: worth a retry.
func IsNetworkError(err error) bool {
	var ne net.Error
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED):
		return true
	case errors.As(err, &ne):
		return true
	}
	return false
}

// HTTPStatus classifies an HTTP status code the way every store uses it:
// 401 and 403 deny access, 408, 429 and 5xx are worth a retry.
func HTTPStatus(code int) error {
	switch {
	case code == 401 || code == 403:
		return storage.ErrPermission
	case code == 408 || code == 429 || code >= 500:
		return storage.ErrTransient
	}
	return nil
}
