// Package backends opens a storage.Backend from the repository location a
// user gives: a local path or file:// URL, or an object store's
// s3://, gs:// or azure:// URL.
package backends

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/redact"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/azure"
	"github.com/banyan-backup/banyan-backup/internal/storage/gcs"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
	"github.com/banyan-backup/banyan-backup/internal/storage/s3"
)

// Options configures the object-store backends; the zero value uses each
// vendor's defaults and standard credential chain.
type Options struct {
	S3    s3.Options
	GCS   gcs.Options
	Azure azure.Options
}

// ErrBadURL is wrapped by errors about a repository location that cannot be
// used as written: the user must fix the argument.
var ErrBadURL = errors.New("invalid repository location")

// Open returns the backend for repo with default options; see OpenWith.
func Open(repo string) (storage.Backend, error) {
	return OpenWith(context.Background(), repo, Options{})
}

// OpenWith returns the backend for repo: a plain path ("/srv/repo",
// "./repo", "repo"), a "file:///abs/path" URL, or "s3://bucket/prefix",
// "gs://bucket/prefix", "azure://container/prefix". An object store is
// asked whether the bucket exists and the credentials are good (a missing
// bucket or denied access fails here, wrapping storage.ErrBucketNotFound or
// storage.ErrPermission); whether the repository exists is not checked.
// The backend is bare: no retries, rate limits or counters, which
// storage/stack adds.
func OpenWith(ctx context.Context, repo string, o Options) (storage.Backend, error) {
	if strings.TrimSpace(repo) == "" {
		return nil, fmt.Errorf("%w: no repository given: use --repo or BANYAN_BACKUP_REPO", ErrBadURL)
	}
	scheme, ok := urlScheme(repo)
	if !ok {
		return local.New(repo), nil
	}
	u, err := url.Parse(repo)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot parse repository URL %q: %v", ErrBadURL, redact.URL(repo), redact.New(repo).String(err.Error()))
	}
	switch strings.ToLower(scheme) {
	case "file":
		if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") ||
			u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("%w %q: a file URL takes an absolute path, as in file:///srv/repo", ErrBadURL, redact.URL(repo))
		}
		return local.New(u.Path), nil
	case "s3", "gs", "azure":
		bucket, prefix, err := bucketURL(u)
		if err != nil {
			return nil, err
		}
		var be storage.Backend
		switch strings.ToLower(scheme) {
		case "s3":
			be, err = s3.Open(ctx, bucket, prefix, o.S3)
		case "gs":
			be, err = gcs.Open(ctx, bucket, prefix, o.GCS)
		default:
			az := azure.OptionsFromEnv()
			az.Endpoint, az.PartSize, az.Concurrency, az.IdleTimeout = o.Azure.Endpoint, o.Azure.PartSize, o.Azure.Concurrency, o.Azure.IdleTimeout
			for _, f := range []struct {
				dst *string
				src string
			}{
				{&az.Account, o.Azure.Account}, {&az.Key, o.Azure.Key},
				{&az.SASToken, o.Azure.SASToken}, {&az.ConnectionString, o.Azure.ConnectionString},
			} {
				if f.src != "" {
					*f.dst = f.src
				}
			}
			be, err = azure.Open(ctx, bucket, prefix, az)
		}
		if err != nil {
			return nil, err
		}
		return be, nil
	}
	return nil, fmt.Errorf("%w: unsupported repository URL %q: use a local path, file:///path, s3://bucket/prefix, gs://bucket/prefix or azure://container/prefix", ErrBadURL, redact.URL(repo))
}

// bucketURL splits scheme://bucket/prefix.
func bucketURL(u *url.URL) (bucket, prefix string, err error) {
	repo := redact.URL(u.String()) // never print credentials given in the URL
	prefix = strings.Trim(u.Path, "/")
	switch {
	case u.Host == "":
		return "", "", fmt.Errorf("%w %q: no bucket: write %s://BUCKET/PREFIX", ErrBadURL, repo, u.Scheme)
	case u.User != nil || u.Port() != "" || u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Errorf("%w %q: write %s://BUCKET/PREFIX; endpoints, regions and credentials are given by flags and environment variables", ErrBadURL, repo, u.Scheme)
	case prefix != "" && storage.CheckName(prefix) != nil:
		return "", "", fmt.Errorf("%w %q: the prefix %q must be a plain slash-separated path", ErrBadURL, repo, prefix)
	}
	return u.Host, prefix, nil
}

// urlScheme returns the scheme of s if s starts with "scheme://", where
// scheme is a letter followed by letters, digits, "+", "-" or ".".
func urlScheme(s string) (string, bool) {
	i := strings.Index(s, "://")
	if i <= 0 {
		return "", false
	}
	for j, c := range s[:i] {
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		other := '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
		if !letter && (j == 0 || !other) {
			return "", false
		}
	}
	return s[:i], true
}

// IsObjectStore reports whether repo names an object store (s3://, gs://,
// azure://) rather than a local directory.
func IsObjectStore(repo string) bool {
	scheme, ok := urlScheme(repo)
	if !ok {
		return false
	}
	switch strings.ToLower(scheme) {
	case "s3", "gs", "azure":
		return true
	}
	return false
}
