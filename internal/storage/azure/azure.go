// Package azure opens a repository in an Azure Blob Storage container
// through gocloud.dev/blob and the Azure SDK.
package azure

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	azblobblob "github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"gocloud.dev/blob/azureblob"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/blobstore"
	"github.com/banyan-backup/banyan-backup/internal/storage/idleconn"
)

// Uploads go up in blocks of DefaultBlockSize, DefaultConcurrency at a
// time; the uploader holds that many blocks in memory.
const (
	DefaultBlockSize   = 4 << 20
	DefaultConcurrency = 4
)

// Options says how to reach and authenticate to the storage account. The
// first of ConnectionString, Key and SASToken that is set is used; with
// none, the Azure default credential chain (environment, workload and
// managed identity, Azure CLI).
type Options struct {
	// Account is the storage account name.
	Account string
	// Endpoint is the blob service URL; "" for
	// https://ACCOUNT.blob.core.windows.net.
	Endpoint string
	// Key is the account's shared key.
	Key string
	// SASToken is a shared access signature ("sv=…&sig=…").
	SASToken string
	// ConnectionString is a storage connection string; it names the
	// account, endpoint and credential itself.
	ConnectionString string
	// PartSize and Concurrency tune block uploads (0: the defaults).
	PartSize    int
	Concurrency int
	// IdleTimeout fails a request whose connection has moved no byte
	// either way for this long, so that a cut link fails it (and its
	// retries) in bounded time; 0 means idleconn.DefaultTimeout.
	IdleTimeout time.Duration
}

// OptionsFromEnv returns the options the standard variables give:
// AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN and
// AZURE_STORAGE_CONNECTION_STRING.
func OptionsFromEnv() Options {
	return Options{
		Account:          os.Getenv("AZURE_STORAGE_ACCOUNT"),
		Key:              os.Getenv("AZURE_STORAGE_KEY"),
		SASToken:         os.Getenv("AZURE_STORAGE_SAS_TOKEN"),
		ConnectionString: os.Getenv("AZURE_STORAGE_CONNECTION_STRING"),
	}
}

// Open returns the backend for azure://container/prefix and checks that the
// container is there and the credentials may use it.
func Open(ctx context.Context, containerName, prefix string, o Options) (*blobstore.Backend, error) {
	location := "azure://" + containerName
	if prefix != "" {
		location += "/" + prefix
	}
	client, err := newClient(containerName, o)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", location, err)
	}
	// gocloud.dev's driver panics on some requests to a missing container:
	// ask first, and say so plainly. Listing is what a container SAS may
	// do (it may not read the container's properties).
	one := int32(1)
	pager := client.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix, MaxResults: &one})
	if _, err := pager.NextPage(ctx); err != nil {
		sentinel := classify(err)
		switch {
		case errors.Is(sentinel, storage.ErrBucketNotFound):
			return nil, fmt.Errorf("cannot open %s: the container does not exist (create it first, or check its name and the endpoint): %w", location, sentinel)
		case errors.Is(sentinel, storage.ErrPermission):
			return nil, fmt.Errorf("cannot open %s: access denied (check the credentials and their permissions): %s: %w",
				location, shortError(err), sentinel)
		case ctx.Err() != nil:
			return nil, fmt.Errorf("cannot open %s: %w", location, ctx.Err())
		case sentinel != nil:
			return nil, fmt.Errorf("cannot open %s: %s: %w", location, shortError(err), sentinel)
		}
		return nil, fmt.Errorf("cannot open %s: %s", location, shortError(err))
	}
	bkt, err := azureblob.OpenBucket(ctx, client, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", location, err)
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultBlockSize
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	return blobstore.New(bkt, prefix, blobstore.Options{
		Location:    location,
		PartSize:    o.PartSize,
		Concurrency: o.Concurrency,
		Classify:    classify,
		Describe:    shortError,
		BeforeWrite: func(as func(any) bool) error {
			// Every block carries a CRC64 of its bytes, which the
			// service checks.
			var uo *azblob.UploadStreamOptions
			if as(&uo) {
				uo.TransactionalValidation = azblobblob.TransferValidationTypeComputeCRC64()
			}
			return nil
		},
	}), nil
}

func newClient(containerName string, o Options) (*container.Client, error) {
	hc := httpClient(o.IdleTimeout)
	copts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{
		// Retries are the retry wrapper's job: one policy for every store.
		Retry:     policy.RetryOptions{MaxRetries: -1},
		Transport: hc,
	}}
	if o.ConnectionString != "" {
		return container.NewClientFromConnectionString(o.ConnectionString, containerName, copts)
	}
	endpoint := strings.TrimSuffix(o.Endpoint, "/")
	if endpoint == "" {
		if o.Account == "" {
			return nil, errors.New("no storage account: set AZURE_STORAGE_ACCOUNT, or AZURE_STORAGE_CONNECTION_STRING")
		}
		endpoint = "https://" + o.Account + ".blob.core.windows.net"
	}
	url := endpoint + "/" + containerName
	switch {
	case o.Key != "":
		if o.Account == "" {
			return nil, errors.New("a shared key needs the account name: set AZURE_STORAGE_ACCOUNT")
		}
		cred, err := container.NewSharedKeyCredential(o.Account, o.Key)
		if err != nil {
			return nil, fmt.Errorf("invalid AZURE_STORAGE_KEY: %w", err)
		}
		return container.NewClientWithSharedKeyCredential(url, cred, copts)
	case o.SASToken != "":
		return container.NewClientWithNoCredential(url+"?"+strings.TrimPrefix(o.SASToken, "?"), copts)
	}
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: hc}})
	if err != nil {
		return nil, fmt.Errorf("no Azure credentials (set AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING): %w", err)
	}
	return container.NewClient(url, cred, copts)
}

// httpClient is the SDK's default HTTP client but for its connections,
// which fail once idle for timeout (idleconn).
func httpClient(timeout time.Duration) *http.Client {
	tr := idleconn.Transport(timeout)
	tr.MaxIdleConnsPerHost = 10
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, Renegotiation: tls.RenegotiateFreelyAsClient}
	return &http.Client{Transport: tr}
}

// classify maps Azure's error codes.
func classify(err error) error {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return nil
	}
	switch bloberror.Code(re.ErrorCode) {
	case bloberror.ContainerNotFound, bloberror.ContainerBeingDeleted:
		return storage.ErrBucketNotFound
	case bloberror.BlobNotFound:
		return storage.ErrNotFound
	case bloberror.BlobAlreadyExists, bloberror.ConditionNotMet:
		return storage.ErrExists
	case bloberror.AuthenticationFailed, bloberror.AuthorizationFailure, bloberror.AuthorizationPermissionMismatch,
		bloberror.InsufficientAccountPermissions, bloberror.InvalidAuthenticationInfo:
		return storage.ErrPermission
	}
	if re.StatusCode == 412 || re.StatusCode == 409 && re.ErrorCode == "" {
		return storage.ErrExists
	}
	return blobstore.HTTPStatus(re.StatusCode)
}

// shortError is the first line of an SDK error: Azure's carry the whole
// HTTP exchange after it.
func shortError(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		s := fmt.Sprintf("HTTP %d", re.StatusCode)
		if re.ErrorCode != "" {
			s += " " + re.ErrorCode
		}
		return s
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
