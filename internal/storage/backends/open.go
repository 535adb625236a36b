// Package backends opens a storage.Backend from the repository location a
// user gives: a local path or a file:// URL, with object stores to come.
package backends

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// Open returns the backend for repo: a plain path ("/srv/repo", "./repo",
// "repo") or a "file:///abs/path" URL. It does not check that the repository
// exists.
func Open(repo string) (storage.Backend, error) {
	if strings.TrimSpace(repo) == "" {
		return nil, errors.New("no repository given: use --repo or BANYAN_BACKUP_REPO")
	}
	scheme, ok := urlScheme(repo)
	if !ok {
		return local.New(repo), nil
	}
	if !strings.EqualFold(scheme, "file") {
		return nil, fmt.Errorf("unsupported repository URL %q: use a local path or file:///path (object storage comes later)", repo)
	}
	u, err := url.Parse(repo)
	if err != nil {
		return nil, fmt.Errorf("cannot parse repository URL %q: %w", repo, err)
	}
	if (u.Host != "" && u.Host != "localhost") || !strings.HasPrefix(u.Path, "/") ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid repository URL %q: a file URL takes an absolute path, as in file:///srv/repo", repo)
	}
	return local.New(u.Path), nil
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
