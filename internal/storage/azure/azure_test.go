package azure_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

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

// TestCredentials opens the container with a connection string and with a
// SAS token instead of the shared key.
func TestCredentials(t *testing.T) {
	srv := cloudtest.Azure(t)
	ctr := srv.NewContainer(t)
	cred, err := azblob.NewSharedKeyCredential(srv.Account, srv.Key)
	if err != nil {
		t.Fatal(err)
	}
	perms := sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}
	qp, err := sas.BlobSignatureValues{
		Protocol:      sas.ProtocolHTTPSandHTTP,
		ExpiryTime:    time.Now().Add(time.Hour),
		ContainerName: ctr,
		Permissions:   perms.String(),
	}.SignWithSharedKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]azure.Options{
		"connection string": {ConnectionString: fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;",
			srv.Account, srv.Key, srv.Endpoint)},
		"SAS token": {Endpoint: srv.Endpoint, Account: srv.Account, SASToken: qp.Encode()},
	} {
		be, err := azure.Open(t.Context(), ctr, strings.ReplaceAll(name, " ", "-"), o)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if err := be.Create(t.Context(), "locks/x", 5, strings.NewReader("hello")); err != nil {
			t.Errorf("%s: Create: %v", name, err)
		}
		if got, err := storage.ReadAll(t.Context(), be, "locks/x"); err != nil || string(got) != "hello" {
			t.Errorf("%s: Get = %q, %v", name, got, err)
		}
		_ = be.Close()
	}
}
