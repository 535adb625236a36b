// Package blobstore adapts a gocloud.dev blob.Bucket to storage.Backend. It
// is the one implementation behind the s3, gcs and azure backends, which
// only build the bucket and classify their vendor's errors.
package blobstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"gocloud.dev/blob"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// Default upload tuning: objects larger than one part go up in parts of
// DefaultPartSize, DefaultConcurrency of them at a time. The uploader holds
// about PartSize × Concurrency bytes in memory per object; the repository
// uploads one pack at a time.
const (
	DefaultPartSize    = 8 << 20
	DefaultConcurrency = 4
)

// Options configures a Backend.
type Options struct {
	// Location names the backend in messages, e.g. "s3://bucket/prefix".
	Location string
	// PartSize and Concurrency tune multipart uploads (0: the defaults).
	PartSize    int
	Concurrency int
	// BeforeWrite, when set, may adjust the vendor's upload request, as
	// blob.WriterOptions.BeforeWrite (e.g. to set a storage class).
	BeforeWrite func(asFunc func(any) bool) error
	// Classify maps a vendor error to a storage sentinel (ErrNotFound,
	// ErrExists, ErrPermission, ErrBucketNotFound, ErrTransient), or nil
	// to fall back on the portable error code.
	Classify func(error) error
	// Describe, when set, says in one line what went wrong in a vendor
	// error whose own message is long (the default is its message).
	Describe func(error) string
	// Close, when set, releases what the caller built the bucket with; it
	// runs after the bucket is closed.
	Close func() error
}

// Backend is a storage.Backend over a blob.Bucket.
type Backend struct {
	bucket *blob.Bucket
	opts   Options
}

// New returns a backend storing objects in bucket under prefix (a
// slash-separated path, or "" for the bucket's root).
func New(bucket *blob.Bucket, prefix string, opts Options) *Backend {
	if p := strings.Trim(prefix, "/"); p != "" {
		bucket = blob.PrefixedBucket(bucket, p+"/")
	}
	if opts.PartSize <= 0 {
		opts.PartSize = DefaultPartSize
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	return &Backend{bucket: bucket, opts: opts}
}

// Location implements storage.Backend.
func (b *Backend) Location() string { return b.opts.Location }

// Check fails unless the bucket exists and the credentials may list it: a
// cheap request that turns wrong credentials and missing buckets into one
// clear error before anything is written.
func (b *Backend) Check(ctx context.Context) error {
	ok, err := b.bucket.IsAccessible(ctx)
	if err != nil {
		return b.fail(ctx, "open", "", err)
	}
	if !ok {
		return storage.NewOpError("open", "", b.opts.Location, storage.ErrBucketNotFound, "", nil)
	}
	return nil
}

// Put implements storage.Backend.
func (b *Backend) Put(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.write(ctx, "write", name, size, r, false)
}

// Create implements storage.Backend with the store's conditional write
// (S3 If-None-Match: *, GCS ifGenerationMatch=0, Azure If-None-Match: *).
func (b *Backend) Create(ctx context.Context, name string, size int64, r io.Reader) error {
	return b.write(ctx, "create", name, size, r, true)
}

func (b *Backend) write(ctx context.Context, verb, name string, size int64, r io.Reader, ifNotExist bool) error {
	if err := storage.CheckWrite(ctx, verb, name, size); err != nil {
		return err
	}
	// Cancelling wctx aborts the upload: a multipart upload is abandoned,
	// never completed, so a failed write leaves the old state.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in := storage.NewExactReader(r, size, cancel)
	err := b.bucket.Upload(wctx, name, in, &blob.WriterOptions{
		BufferSize:                  b.opts.PartSize,
		MaxConcurrency:              b.opts.Concurrency,
		ContentType:                 "application/octet-stream",
		DisableContentTypeDetection: true,
		IfNotExist:                  ifNotExist,
		BeforeWrite:                 b.opts.BeforeWrite,
	})
	return in.Finish(verb, name, b.opts.Location, err, func(err error) error { return b.fail(ctx, verb, name, err) })
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
	r, err := b.bucket.NewRangeReader(ctx, name, offset, length, nil)
	if err != nil {
		if offset > 0 {
			// Stores refuse a range that starts at or past the end; the
			// contract asks for an empty read.
			if info, serr := b.Stat(ctx, name); serr == nil && offset >= info.Size {
				return io.NopCloser(bytes.NewReader(nil)), nil
			}
		}
		return nil, b.fail(ctx, "read", name, err)
	}
	return &storage.FailReader{R: r, C: r, Fail: func(err error) error { return b.fail(ctx, "read", name, err) }}, nil
}

// Stat implements storage.Backend.
func (b *Backend) Stat(ctx context.Context, name string) (storage.ObjectInfo, error) {
	if err := storage.CheckName(name); err != nil {
		return storage.ObjectInfo{}, fmt.Errorf("cannot stat %q: %w", name, err)
	}
	attrs, err := b.bucket.Attributes(ctx, name)
	if err != nil {
		return storage.ObjectInfo{}, b.fail(ctx, "stat", name, err)
	}
	return storage.ObjectInfo{Name: name, Size: attrs.Size}, nil
}

// List implements storage.Backend.
func (b *Backend) List(ctx context.Context, prefix string, fn func(storage.ObjectInfo) error) error {
	if err := storage.CheckPrefix(prefix); err != nil {
		return fmt.Errorf("cannot list %q: %w", prefix, err)
	}
	it := b.bucket.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return b.fail(ctx, "list", prefix+"*", err)
		}
		if obj.IsDir {
			continue
		}
		if err := fn(storage.ObjectInfo{Name: obj.Key, Size: obj.Size}); err != nil {
			return err
		}
	}
}

// Delete implements storage.Backend.
func (b *Backend) Delete(ctx context.Context, name string) error {
	if err := storage.CheckName(name); err != nil {
		return fmt.Errorf("cannot delete %q: %w", name, err)
	}
	if err := b.bucket.Delete(ctx, name); err != nil {
		return b.fail(ctx, "delete", name, err)
	}
	return nil
}

// Close implements storage.Backend.
func (b *Backend) Close() error {
	err := b.bucket.Close()
	if b.opts.Close != nil {
		err = errors.Join(err, b.opts.Close())
	}
	if err != nil {
		return fmt.Errorf("cannot close %s: %w", b.opts.Location, err)
	}
	return nil
}

// StageFile implements storage.Backend: a file in the system's temporary
// directory.
func (b *Backend) StageFile() (*os.File, error) { return storage.StageTemp() }

// PutStaged implements storage.Backend: Put from the file, then remove it.
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	return storage.PutFile(ctx, b, name, f)
}
