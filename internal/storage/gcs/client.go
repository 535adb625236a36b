package gcs

import (
	"net/http"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/auth/httptransport"
	gcsapi "google.golang.org/api/storage/v1"

	"github.com/banyan-backup/banyan-backup/internal/storage/idleconn"
)

// httpClient returns the service's HTTP client: its connections fail once
// idle for o.IdleTimeout (idleconn), and its requests carry the
// credentials' tokens, fetched over the same connections, unless they go
// to an Endpoint without a CredentialsFile. gcsapi.NewService takes a
// client given with option.WithHTTPClient as it is, so the authorization
// is added here, as NewService adds it over a transport of its own.
func httpClient(o Options) (*http.Client, error) {
	base := idleconn.Transport(o.IdleTimeout)
	base.MaxIdleConnsPerHost = 100 // as Google's own transport: parallel uploads and reads
	plain := &http.Client{Transport: base}
	if o.Endpoint != "" && o.CredentialsFile == "" {
		return plain, nil
	}
	creds, err := loadCredentials(o.CredentialsFile, plain)
	if err != nil {
		return nil, err
	}
	return httptransport.NewClient(&httptransport.Options{BaseRoundTripper: base, Credentials: creds})
}

// loadCredentials reads a service account's key file, or with file "" the
// application default credentials; tokens are fetched through client.
func loadCredentials(file string, client *http.Client) (*auth.Credentials, error) {
	do := &credentials.DetectOptions{
		// The scopes gcsapi.NewService asks for.
		Scopes: []string{gcsapi.CloudPlatformScope, gcsapi.CloudPlatformReadOnlyScope,
			gcsapi.DevstorageFullControlScope, gcsapi.DevstorageReadOnlyScope, gcsapi.DevstorageReadWriteScope},
		Client: client,
	}
	if file != "" {
		return credentials.NewCredentialsFromFile(credentials.ServiceAccount, file, do)
	}
	return credentials.DetectDefault(do)
}
