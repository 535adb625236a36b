package gcs_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/storage/gcs"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	endpoint := cloudtest.GCS(t)
	bucket := cloudtest.NewGCSBucket(t, endpoint)
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		prefix := fmt.Sprintf("repo-%x/sub", rand.Uint64())
		be, err := gcs.Open(t.Context(), bucket, prefix, gcs.Options{Endpoint: endpoint, PartSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

func TestOpenMissingBucket(t *testing.T) {
	endpoint := cloudtest.GCS(t)
	_, err := gcs.Open(t.Context(), "no-such-bucket-here", "", gcs.Options{Endpoint: endpoint})
	if !errors.Is(err, storage.ErrBucketNotFound) {
		t.Errorf("Open of a missing bucket: %v, want ErrBucketNotFound", err)
	}
}
