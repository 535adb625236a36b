// Package gcs opens a repository in a Google Cloud Storage bucket through
// gocloud.dev/blob and the Cloud Storage client.
package gcs

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"cloud.google.com/go/storage"
	"gocloud.dev/blob/gcsblob"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"

	bstorage "github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/blobstore"
)

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
}

// Open returns the backend for gs://bucket/prefix and checks that the bucket
// is there and the credentials may use it.
func Open(ctx context.Context, bucket, prefix string, o Options) (*blobstore.Backend, error) {
	location := "gs://" + bucket
	if prefix != "" {
		location += "/" + prefix
	}
	var copts []option.ClientOption
	if o.Endpoint != "" {
		copts = append(copts, option.WithEndpoint(strings.TrimSuffix(o.Endpoint, "/")+"/storage/v1/"))
		if o.CredentialsFile == "" {
			copts = append(copts, option.WithoutAuthentication())
		}
	}
	if o.CredentialsFile != "" {
		copts = append(copts, option.WithAuthCredentialsFile(option.ServiceAccount, o.CredentialsFile))
	}
	// The client keeps the context for its token source: not the caller's,
	// which may be only for opening.
	client, err := storage.NewClient(context.WithoutCancel(ctx), copts...)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", location, err)
	}
	// Retries are the retry wrapper's job: one policy for every store.
	client.SetRetry(storage.WithPolicy(storage.RetryNever))
	bkt, err := gcsblob.OpenBucket(ctx, nil, bucket, &gcsblob.Options{Client: client})
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("cannot open %s: %w", location, err)
	}
	be := blobstore.New(bkt, prefix, blobstore.Options{
		Location:    location,
		PartSize:    o.PartSize,
		Concurrency: 1,
		Classify:    classify,
		Close:       client.Close,
	})
	if err := be.Check(ctx); err != nil {
		_ = be.Close()
		return nil, err
	}
	return be, nil
}

// classify maps Cloud Storage's HTTP errors.
func classify(err error) error {
	if errors.Is(err, storage.ErrBucketNotExist) {
		return bstorage.ErrBucketNotFound
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) {
		if ge.Code == 412 {
			return bstorage.ErrExists
		}
		return blobstore.HTTPStatus(ge.Code)
	}
	return nil
}
