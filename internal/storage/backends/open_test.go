package backends_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
)

func TestOpen(t *testing.T) {
	cwd := t.TempDir()
	t.Chdir(cwd)
	for _, tc := range []struct {
		repo     string
		location string // "" when Open must fail
		err      string
	}{
		{repo: "/srv/repo", location: "file:///srv/repo"},
		{repo: "/srv/repo/", location: "file:///srv/repo"},
		{repo: "./repo", location: "file://" + filepath.Join(cwd, "repo")},
		{repo: "repo", location: "file://" + filepath.Join(cwd, "repo")},
		{repo: "./odd://name", location: "file://" + filepath.Join(cwd, "odd:", "name")},
		{repo: "file:///srv/repo", location: "file:///srv/repo"},
		{repo: "FILE:///srv/repo", location: "file:///srv/repo"},
		{repo: "file://localhost/srv/repo", location: "file:///srv/repo"},
		{repo: "file:///srv/my%20repo", location: "file:///srv/my repo"},
		{repo: "", err: "no repository given: use --repo or BANYAN_BACKUP_REPO"},
		{repo: "  ", err: "no repository given"},
		{repo: "s3://", err: `no bucket: write s3://BUCKET/PREFIX`},
		{repo: "gs://bucket/a/../b", err: `must be a plain slash-separated path`},
		{repo: "azure://user:secret@container/p", err: `endpoints, regions and credentials are given by flags`},
		{repo: "s3://bucket/p?region=x", err: `write s3://BUCKET/PREFIX`},
		{repo: "https://example.com/repo", err: `unsupported repository URL "https://example.com/repo": use a local path, file:///path, s3://bucket/prefix`},
		{repo: "file://relative/path", err: "file URL takes an absolute path"},
		{repo: "file://", err: "file URL takes an absolute path"},
		{repo: "file:///srv/repo?x=1", err: "file URL takes an absolute path"},
		{repo: "file:///srv/%zz", err: "cannot parse repository URL"},
	} {
		b, err := backends.Open(tc.repo)
		if tc.location == "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Open(%q): %v, want an error containing %q", tc.repo, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.repo, err)
			continue
		}
		if got := b.Location(); got != tc.location {
			t.Errorf("Open(%q).Location() = %q, want %q", tc.repo, got, tc.location)
		}
		_ = b.Close()
	}
}
