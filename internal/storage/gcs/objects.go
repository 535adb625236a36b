package gcs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"google.golang.org/api/googleapi"
	gcsapi "google.golang.org/api/storage/v1"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// noRetry keeps the client from retrying requests and upload chunks:
// retries are the retry wrapper's job, one policy for every store.
func noRetry(error) bool { return false }

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.write(ctx, "write", name, size, r, false)
}

// Create implements storage.Backend with a conditional write
// (ifGenerationMatch=0: only if no live object has the name).
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.write(ctx, "create", name, size, r, true)
}

func (b *Backend) write(ctx context.Context, verb, name string, size int64, r io.Reader, ifNotExist bool) error {
	if err := storage.CheckWrite(ctx, verb, name, size); err != nil {
		return err
	}
	sum, err := checksum(r, size)
	if err != nil {
		return fmt.Errorf("cannot %s %s in %s: %w", verb, name, b.location, err)
	}
	// Cancelling wctx aborts the upload: a resumable upload is abandoned
	// before its last chunk, so a failed write leaves the old state.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := storage.NewExactReader(r, size, cancel)
	obj := &gcsapi.Object{
		Name:        b.prefix + name,
		ContentType: "application/octet-stream",
		Crc32c:      sum,
	}
	// Media reads the first chunk at once: an object that fits goes up in
	// one request, a larger one in a resumable upload, chunk by chunk.
	call := b.svc.Objects.Insert(b.bucket, obj).
		Media(in, googleapi.ContentType("application/octet-stream"), googleapi.ChunkSize(b.partSize)).
		WithRetry(nil, noRetry).
		Fields("name").
		Context(wctx)
	if ifNotExist {
		call = call.IfGenerationMatch(0)
	}
	_, err = call.Do()
	return in.Finish(verb, name, b.location, err, func(err error) error { return b.fail(ctx, verb, name, err) })
}

// Get implements storage.Backend.
func (b *Backend) Get(ctx context.Context, name string, offset, length int64) (io.ReadCloser, error) {
	if err := storage.CheckRead(ctx, name, offset); err != nil {
		return nil, err
	}
	if length == 0 {
		if _, err := b.Stat(ctx, name); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	call := b.svc.Objects.Get(b.bucket, b.prefix+name).Context(ctx)
	switch {
	case length > 0:
		call.Header().Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-"+strconv.FormatInt(offset+length-1, 10))
	case offset > 0:
		call.Header().Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
	}
	resp, err := call.Download()
	if err != nil {
		if offset > 0 {
			// The store refuses a range that starts at or past the end
			// (416); the contract asks for an empty read.
			if info, serr := b.Stat(ctx, name); serr == nil && offset >= info.Size {
				return io.NopCloser(bytes.NewReader(nil)), nil
			}
		}
		return nil, b.fail(ctx, "read", name, err)
	}
	var body io.Reader = resp.Body
	if resp.StatusCode == http.StatusOK && offset > 0 {
		// The server ignored the range and sends the whole object.
		if _, err := io.CopyN(io.Discard, resp.Body, offset); err != nil && err != io.EOF {
			resp.Body.Close()
			return nil, b.fail(ctx, "read", name, err)
		}
	}
	if length > 0 {
		body = io.LimitReader(body, length)
	}
	return &storage.FailReader{R: body, C: resp.Body, Fail: func(err error) error { return b.fail(ctx, "read", name, err) }}, nil
}

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	if err := storage.CheckName(name); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("cannot stat %q: %w", name, err)
	}
	obj, err := b.svc.Objects.Get(b.bucket, b.prefix+name).Fields("size").Context(ctx).Do()
	if err != nil {
		return storage.ObjectInfo{}, b.fail(ctx, "stat", name, err)
	}
	return storage.ObjectInfo{Name: name, Size: int64(obj.Size)}, nil
}

// List implements storage.Backend, a page of up to 1000 objects at a time.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := storage.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("cannot list %q: %w", prefix, err)
	}
	token := ""
	for {
		call := b.svc.Objects.List(b.bucket).Prefix(b.prefix+prefix).
			Fields("nextPageToken", "items(name,size)").Context(ctx)
		if token != "" {
			call = call.PageToken(token)
		}
		page, err := call.Do()
		if err != nil {
			if code(err) == 404 {
				return storage.NewOpError("list", prefix+"*", b.location, storage.ErrBucketNotFound, "", err)
			}
			return b.fail(ctx, "list", prefix+"*", err)
		}
		for _, obj := range page.Items {
			name, ok := strings.CutPrefix(obj.Name, b.prefix)
			if !ok || name == "" || strings.HasSuffix(name, "/") {
				continue // not ours, or a folder placeholder
			}
			if err := fn(storage.ObjectInfo{Name: name, Size: int64(obj.Size)}); err != nil {
				return err
			}
		}
		if page.NextPageToken == "" {
			return nil
		}
		token = page.NextPageToken
	}
}

// Delete implements storage.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := storage.CheckName(name); err != nil {
		return fmt.Errorf("cannot delete %q: %w", name, err)
	}
	if err := b.svc.Objects.Delete(b.bucket, b.prefix+name).Context(ctx).Do(); err != nil {
		return b.fail(ctx, "delete", name, err)
	}
	return nil
}
