package azure_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/azure"
	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/storage/storagetest"
)

func TestConformance(t *testing.T) {
	srv := cloudtest.Azure(t)
	ctr := srv.NewContainer(t)
	storagetest.Run(t, func(t *testing.T) storage.Backend {
		prefix := fmt.Sprintf("repo-%x/sub", rand.Uint64())
		be, err := azure.Open(t.Context(), ctr, prefix, azure.Options{
			Endpoint: srv.Endpoint, Account: srv.Account, Key: srv.Key, PartSize: 1 << 20, Concurrency: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		return be
	})
}

func TestOpenErrors(t *testing.T) {
	srv := cloudtest.Azure(t)
	ctr := srv.NewContainer(t)
	_, err := azure.Open(t.Context(), "no-such-container", "", azure.Options{Endpoint: srv.Endpoint, Account: srv.Account, Key: srv.Key})
	if !errors.Is(err, storage.ErrBucketNotFound) {
		t.Errorf("Open of a missing container: %v, want ErrBucketNotFound", err)
	}
	wrongKey := "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXk="
	_, err = azure.Open(t.Context(), ctr, "", azure.Options{Endpoint: srv.Endpoint, Account: srv.Account, Key: wrongKey})
	if !errors.Is(err, storage.ErrPermission) || strings.Contains(err.Error(), wrongKey) || strings.Contains(err.Error(), "\n") {
		t.Errorf("Open with a wrong key: %v, want a one-line ErrPermission without the key", err)
	}
}
