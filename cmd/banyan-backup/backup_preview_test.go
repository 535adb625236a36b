package main

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// previewOf runs backup --dry-run --json.
func previewOf(t *testing.T, repo, root string) backupPreviewOut {
	t.Helper()
	var out backupPreviewOut
	if err := json.Unmarshal([]byte(mustRun(t, "backup", "--repo", repo, "--root", root, "--dry-run", "--json")), &out); err != nil {
		t.Fatalf("backup --dry-run --json printed no JSON: %v", err)
	}
	return out
}

// backup --dry-run says what the backup would do, and the backup then does
// exactly that: on an empty repository every file is to be read; after a
// backup and a new part, the files the next backup reads. A dry run
// leaves the repository as it was (no object added, changed or removed,
// no lock), and is refused with --node.
func TestBackupDryRunForetellsTheBackup(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)

	steps := []struct {
		name   string
		before func()
	}{
		{"first backup", func() {}},
		{"after a new part", func() {
			addPart(t, filepath.Join(root, "stream", "data", "bk_stream", "seg-20261120", "shard-0"), "0000000000000002", 1<<20)
		}},
		{"nothing changed", func() {}},
	}
	var last backupOut
	for _, s := range steps {
		s.before()
		state := snapshotDir(t, repo)
		p := previewOf(t, repo, root)
		if after := snapshotDir(t, repo); !maps.Equal(state, after) {
			t.Errorf("%s: the dry run changed the repository", s.name)
		}
		b := backupJSONOf(t, repo, root)
		t.Logf("%s: preview %+v; backup read %d files (%d bytes), %d unchanged", s.name, p, b.FilesRead, b.BytesRead, b.FilesUnchanged)
		if !p.DryRun || p.Parent != last.ID || p.Files != b.Files || p.BytesTotal != b.BytesTotal ||
			p.FilesToRead != b.FilesRead || p.BytesToRead != b.BytesRead || p.FilesUnchanged != b.FilesUnchanged {
			t.Errorf("%s: the dry run said %+v; the backup after it (parent %q) held %d files (%d bytes), read %d (%d bytes), reused %d",
				s.name, p, last.ID, b.Files, b.BytesTotal, b.FilesRead, b.BytesRead, b.FilesUnchanged)
		}
		last = b
	}
	if last.FilesRead != 0 {
		t.Errorf("the backup of an unchanged root read %d files", last.FilesRead)
	}

	text := mustRun(t, "backup", "--repo", repo, "--root", root, "-n")
	if !strings.Contains(text, "nothing was written") || !strings.Contains(text, "backup "+last.ShortID) {
		t.Errorf("backup -n printed:\n%s", text)
	}
	r := run(t, "backup", "--repo", repo, "--root", root, "--dry-run", "--node", "127.0.0.1:1")
	if r.code != 2 || !strings.Contains(r.stderr, "--node") {
		t.Errorf("backup --dry-run --node: exit %d, want 2 naming --node\n%s", r.code, r.stderr)
	}
}
