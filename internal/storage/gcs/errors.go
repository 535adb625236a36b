package gcs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/auth"
	"google.golang.org/api/googleapi"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/blobstore"
)

// fail wraps the error of a call for verb on name (name "" for the bucket
// itself): one line, wrapping the client's error and the storage sentinel it
// maps to.
func (b *Backend) fail(ctx context.Context, verb, name string, err error) error {
	sentinel := classify(err)
	if cerr := ctx.Err(); cerr != nil {
		sentinel = cerr
	}
	return storage.NewOpError(verb, name, b.location, sentinel, describe(err), err)
}

// code is the HTTP status of a Cloud Storage error, or 0.
func code(err error) int {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		return ge.Code
	}
	return 0
}

// classify maps a client error to a storage sentinel, or nil for others.
// A 404 is a missing object; the callers that address the bucket itself
// (Open, List) say so themselves.
func classify(err error) error {
	if errors.Is(err, context.Canceled) {
		return context.Canceled
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return storage.ErrTransient
	}
	switch c := code(err); {
	case c == 404:
		return storage.ErrNotFound
	case c == 412:
		// The only precondition sent is ifGenerationMatch=0.
		return storage.ErrExists
	case c != 0:
		return blobstore.HTTPStatus(c)
	}
	// The token endpoint refusing the credentials.
	var ae *auth.Error
	if errors.As(err, &ae) && ae.Response != nil {
		switch c := ae.Response.StatusCode; {
		case c == 400 || c == 401 || c == 403:
			return storage.ErrPermission
		default:
			return blobstore.HTTPStatus(c)
		}
	}
	if blobstore.IsNetworkError(err) {
		return storage.ErrTransient
	}
	return nil
}

// describe says in one line what went wrong.
func describe(err error) string {
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		if ge.Message != "" {
			return fmt.Sprintf("%s (HTTP %d)", oneLine(ge.Message), ge.Code)
		}
		body := oneLine(ge.Body)
		if len(body) > 200 {
			body = body[:200] + "…"
		}
		if body == "" {
			return fmt.Sprintf("HTTP %d", ge.Code)
		}
		return fmt.Sprintf("HTTP %d: %s", ge.Code, body)
	}
	return oneLine(err.Error())
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
