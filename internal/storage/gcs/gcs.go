// Package gcs stores a repository in a Google Cloud Storage bucket through
// the generated JSON API client (google.golang.org/api/storage/v1). It does
// not use cloud.google.com/go/storage, whose gRPC, xDS and telemetry
// dependencies would double the binary and its startup memory; see
// docs/dependencies.md.
package gcs

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/api/option"
	gcsapi "google.golang.org/api/storage/v1"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// DefaultPartSize is the size of the chunks an upload larger than one chunk
// is sent in: a resumable upload holds one chunk in memory at a time.
const DefaultPartSize = 8 << 20

// Options configures the Cloud Storage client. Without CredentialsFile the
// application default credentials are used (GOOGLE_APPLICATION_CREDENTIALS,
// gcloud's, or the metadata server's).
type Options struct {
	// CredentialsFile is a service account's JSON key file.
	CredentialsFile string
	// Endpoint is the URL of a GCS-compatible server such as
	// fake-gcs-server; "" for Google. Requests to it are not authenticated
	// unless CredentialsFile is set.
	Endpoint string
	// PartSize is the size of the chunks uploads are sent in (0: the
	// default); a GCS upload sends one chunk at a time.
	PartSize int
	// IdleTimeout fails a request whose connection has moved no byte
	// either way for this long, so that a cut link fails it (and its
	// retries) in bounded time; 0 means idleconn.DefaultTimeout.
	IdleTimeout time.Duration
}

// Backend is a storage.Backend over a Cloud Storage bucket.
type Backend struct {
	svc      *gcsapi.Service
	bucket   string
	prefix   string // "" or ending in "/"
	location string
	partSize int
}

// Open returns the backend for gs://bucket/prefix and checks that the bucket
// is there and the credentials may use it.
func Open(ctx context.Context, bucket, prefix string, o Options) (*Backend, error) {
	location := "gs://" + bucket
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		location += "/" + prefix
		prefix += "/"
	}
	hc, err := httpClient(o)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %s", location, oneLine(err.Error()))
	}
	copts := []option.ClientOption{option.WithHTTPClient(hc)}
	if o.Endpoint != "" {
		copts = append(copts, option.WithEndpoint(strings.TrimSuffix(o.Endpoint, "/")+"/storage/v1/"))
	}
	svc, err := gcsapi.NewService(ctx, copts...)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %s", location, oneLine(err.Error()))
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	b := &Backend{svc: svc, bucket: bucket, prefix: prefix, location: location, partSize: o.PartSize}
	if err := b.check(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// check fails unless the bucket exists and the credentials may list it: a
// cheap request that turns wrong credentials and missing buckets into one
// clear error before anything is written.
func (b *Backend) check(ctx context.Context) error {
	_, err := b.svc.Objects.List(b.bucket).Prefix(b.prefix).MaxResults(1).
		Fields("nextPageToken", "items(name)").Context(ctx).Do()
	if err == nil {
		return nil
	}
	if code(err) == 404 {
		return storage.NewOpError("open", "", b.location, storage.ErrBucketNotFound, "", err)
	}
	return b.fail(ctx, "open", "", err)
}

// Location implements storage.Backend.
func (b *Backend) Location() string { return b.location }

// Close implements storage.Backend. The client holds nothing that needs
// releasing.
func (b *Backend) Close() error { return nil }

// StageFile implements storage.Backend: a file in the system's temporary
// directory.
func (b *Backend) StageFile() (*os.File, error) { return storage.StageTemp() }

// PutStaged implements storage.Backend: Put from the file (which sends a
// checksum the server checks), then remove it.
func (b *Backend) PutStaged(ctx context.Context, name string, f *os.File) error {
	return storage.PutFile(ctx, b, name, f)
}
