package backends_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/azure"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/storage/gcs"
	"github.com/banyan-backup/banyan-backup/internal/storage/s3"
)

// stallIdle is the idle timeout of the stall test's stores.
const stallIdle = 500 * time.Millisecond

// stallStore readies a bucket on one object store's test server: it
// returns the repository's URL, the server's endpoint, and the options
// that reach the server at another endpoint with the idle timeout set.
type stallStore func(t *testing.T) (repo, endpoint string, options func(endpoint string) backends.Options)

func stallS3(t *testing.T) (string, string, func(string) backends.Options) {
	srv := cloudtest.S3(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	return "s3://" + srv.NewBucket(t) + "/stall", srv.Endpoint, func(ep string) backends.Options {
		return backends.Options{S3: s3.Options{Endpoint: ep, IdleTimeout: stallIdle}}
	}
}

func stallGCS(t *testing.T) (string, string, func(string) backends.Options) {
	endpoint := cloudtest.GCS(t)
	return "gs://" + cloudtest.NewGCSBucket(t, endpoint) + "/stall", endpoint, func(ep string) backends.Options {
		return backends.Options{GCS: gcs.Options{Endpoint: ep, IdleTimeout: stallIdle}}
	}
}

func stallAzure(t *testing.T) (string, string, func(string) backends.Options) {
	srv := cloudtest.Azure(t)
	return "azure://" + srv.NewContainer(t) + "/stall", srv.Endpoint, func(ep string) backends.Options {
		return backends.Options{Azure: azure.Options{Endpoint: ep, Account: srv.Account, Key: srv.Key, IdleTimeout: stallIdle}}
	}
}

// A request whose connection goes silent (the link to the store cut)
// fails once nothing has moved for the idle timeout, with a transient
// error that the retry wrapper tries again, instead of waiting for the
// kernel to give up on the connection: on every object store.
func TestStalledRequestFails(t *testing.T) {
	for _, c := range []struct {
		name  string
		store stallStore
	}{{"s3", stallS3}, {"gcs", stallGCS}, {"azure", stallAzure}} {
		t.Run(c.name, func(t *testing.T) {
			repo, endpoint, options := c.store(t)
			hole := cloudtest.NewBlackHole(t, endpoint)
			be, err := backends.OpenWith(t.Context(), repo, options(hole.Endpoint))
			if err != nil {
				t.Fatal(err)
			}
			defer be.Close()
			hole.Cut()
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			err = be.Put(ctx, "data/x", 5, io.MultiReader(strings.NewReader("hello")))
			if ctx.Err() != nil || !errors.Is(err, storage.ErrTransient) {
				t.Fatalf("Put over a silent connection: %v (the test's deadline: %v), want a transient error before the deadline", err, ctx.Err())
			}
		})
	}
}
