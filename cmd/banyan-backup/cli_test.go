package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

func TestRoundTripFixtures(t *testing.T) {
	for _, name := range []string{fixture.V0102, fixture.V011} {
		for _, enc := range encryptions {
			t.Run(name+"/"+enc.name, func(t *testing.T) {
				root := fixtureRoot(t, name)
				repo := filepath.Join(t.TempDir(), "repo")
				access := enc.access(t)
				mustRun(t, append(append([]string{"init", "--repo", repo}, enc.init(t)...), access...)...)
				b := backupJSONOf(t, repo, root, access...)
				if b.FilesRead != b.Files || b.BytesRead != b.BytesTotal {
					t.Errorf("first backup read %d of %d files, %d of %d bytes", b.FilesRead, b.Files, b.BytesRead, b.BytesTotal)
				}
				target := filepath.Join(t.TempDir(), "restored")
				mustRun(t, append([]string{"restore", b.ShortID, "--repo", repo, "--target", target}, access...)...)
				compareTrees(t, root, target)
				if _, err := os.Stat(filepath.Join(target, "RESTORE-IN-PROGRESS")); err == nil {
					t.Error("the restore marker is left in a complete restore")
				}
				mustRun(t, append([]string{"verify", "--repo", repo, "--read-data"}, access...)...)
			})
		}
	}
}

func TestUnchangedRebackupAddsAlmostNothing(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	first := backupJSONOf(t, repo, root)
	before := dirSize(t, repo)
	second := backupJSONOf(t, repo, root)
	grown := dirSize(t, repo) - before
	if second.BytesRead != 0 || second.FilesRead != 0 {
		t.Errorf("unchanged re-backup read %d files, %d bytes; want none", second.FilesRead, second.BytesRead)
	}
	if second.FilesUnchanged != first.Files {
		t.Errorf("files_unchanged = %d, want %d", second.FilesUnchanged, first.Files)
	}
	if limit := first.BytesTotal / 100; grown >= limit || second.BytesAdded >= limit {
		t.Errorf("repository grew by %d bytes (backup says %d), want < 1%% of %d", grown, second.BytesAdded, first.BytesTotal)
	}
	if second.BytesAdded != grown {
		t.Errorf("bytes_added = %d but the repository grew by %d", second.BytesAdded, grown)
	}
	out := mustRun(t, "list", "--repo", repo, "--json")
	var list []backupOut
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 {
		t.Fatalf("list --json: %v, %d backups", err, len(list))
	}
	// Each backup restores alone, complete.
	target := filepath.Join(t.TempDir(), "t")
	mustRun(t, "restore", second.ID, "--repo", repo, "--target", target)
	compareTrees(t, root, target)
}

func TestForceRehashReadsEverything(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	first := backupJSONOf(t, repo, root)
	again := backupJSONOf(t, repo, root, "--force-rehash")
	if again.BytesRead != first.BytesTotal || again.FilesRead != first.Files {
		t.Errorf("--force-rehash read %d files, %d bytes; want %d, %d", again.FilesRead, again.BytesRead, first.Files, first.BytesTotal)
	}
	if limit := first.BytesTotal / 100; again.BytesAdded >= limit {
		t.Errorf("re-hashed identical data added %d bytes", again.BytesAdded)
	}
}

func TestNewPartsAreTheOnlyDataStored(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	backupJSONOf(t, repo, root)

	shard := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261121", "shard-0")
	newBytes, newFiles := addPart(t, shard, "0000000000000002", 300<<10)
	before := dirSize(t, repo)
	b := backupJSONOf(t, repo, root)
	grown := dirSize(t, repo) - before
	// The new part's files and the new .snp are read; nothing else.
	if b.FilesRead != int64(newFiles)+1 {
		t.Errorf("read %d files, want the %d new part files and the new .snp", b.FilesRead, newFiles)
	}
	// Random part data does not compress: the repository grows by the new
	// bytes plus pack, tree, index and manifest overhead.
	if grown < int64(newBytes) || grown > int64(newBytes)+16<<10 {
		t.Errorf("repository grew by %d bytes for %d new bytes: want the new bytes plus at most 16 KiB", grown, newBytes)
	}
	target := filepath.Join(t.TempDir(), "t")
	mustRun(t, "restore", "latest", "--repo", repo, "--target", target)
	compareTrees(t, root, target)
}

func TestBadInput(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	tmp := t.TempDir()
	repo := filepath.Join(tmp, "repo")
	mustRun(t, "init", "--repo", repo)
	notRepo := filepath.Join(tmp, "notrepo")
	if err := os.MkdirAll(filepath.Join(notRepo, "stuff"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(notRepo, "stuff", "x"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	full := filepath.Join(tmp, "full")
	if err := os.MkdirAll(full, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(full, "keep"), []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	backupJSONOf(t, repo, root)

	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no repository flag", []string{"list"}, 2, "--repo"},
		{"missing repository", []string{"list", "--repo", filepath.Join(tmp, "nope")}, 10, "banyan-backup init"},
		{"uninitialised repository", []string{"backup", "--repo", notRepo, "--root", root}, 10, "no config"},
		{"unknown command", []string{"lsit", "--repo", repo}, 2, "unknown command"},
		{"bad --chown", []string{"restore", "latest", "--repo", repo, "--target", filepath.Join(tmp, "t2"), "--chown", "banyandb"}, 2, "--chown"},
		{"bad verify subset", []string{"verify", "--repo", repo, "--read-data-subset", "0/3"}, 2, "--read-data-subset"},
		{"init twice", []string{"init", "--repo", repo}, 1, "already initialised"},
		{"unsupported URL", []string{"list", "--repo", "ftp://x/y"}, 2, "unsupported repository URL"},
		{"root is not a BanyanDB root", []string{"backup", "--repo", repo, "--root", tmp}, 1, "--root"},
		{"root does not exist", []string{"backup", "--repo", repo, "--root", filepath.Join(tmp, "missing")}, 1, "missing"},
		{"no root", []string{"backup", "--repo", repo}, 2, "--root"},
		{"target not empty", []string{"restore", "latest", "--repo", repo, "--target", full}, 1, "not empty"},
		{"no target", []string{"restore", "latest", "--repo", repo}, 2, "--target"},
		{"unknown backup", []string{"show", "ffffffff", "--repo", repo}, 1, "banyan-backup list"},
		{"unknown flag", []string{"list", "--repo", repo, "--frobnicate"}, 2, "frobnicate"},
		{"unknown catalog", []string{"backup", "--repo", repo, "--root", root, "--catalog", "metrics"}, 2, "metrics"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, c.code, r.stderr)
			}
			first := strings.SplitN(strings.TrimSpace(r.stderr), "\n", 2)[0]
			if !strings.Contains(first, c.want) {
				t.Errorf("first line of stderr %q does not mention %q", first, c.want)
			}
		})
	}
	if data, err := os.ReadFile(filepath.Join(full, "keep")); err != nil || string(data) != "precious" {
		t.Errorf("a refused restore touched the target: %q, %v", data, err)
	}
	if ents, _ := os.ReadDir(full); len(ents) != 1 {
		t.Errorf("a refused restore left %d entries in the target", len(ents))
	}
	out := mustRun(t, "list", "--repo", repo, "--json")
	var list []backupOut
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 {
		t.Errorf("after bad input the repository lists %d backups (%v), want 1", len(list), err)
	}
	mustRun(t, "verify", "--repo", repo, "--read-data")
}

// TestRestoreChecksTheResult: a backup of a root the server would not load
// cleanly (a part missing from its shard's .snp) restores, but the restore
// reports check's error and exits 1.
func TestRestoreChecksTheResult(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	shard := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261121", "shard-0")
	if err := os.Mkdir(filepath.Join(shard, "00000000000000aa"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shard, "00000000000000aa", "metadata.json"), []byte(`{"minTimestamp":1,"maxTimestamp":2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	backupJSONOf(t, repo, root)
	target := filepath.Join(t.TempDir(), "t")
	r := run(t, "restore", "latest", "--repo", repo, "--target", target)
	if r.code != 1 || !strings.Contains(r.stdout, "00000000000000aa") || !strings.Contains(r.stderr, "check found 1 errors") {
		t.Errorf("restore of a root with a stray part: exit %d\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
	compareTrees(t, root, target)
}

// TestBackupOfARunningNodeRootIsRefused: a root whose group lock a server
// holds is refused with a message pointing to live backups, and nothing is
// listed.
func TestBackupOfARunningNodeRootIsRefused(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	fh, err := os.Create(filepath.Join(root, "measure", "data", "bk_measure", "lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	flockExclusive(t, fh)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	r := run(t, "backup", "--repo", repo, "--root", root)
	if r.code != 1 || !strings.Contains(r.stderr, "--node") || !strings.Contains(r.stderr, "bk_measure") {
		t.Errorf("backup of a locked root: exit %d, stderr %q; want 1, naming the lock and --node", r.code, r.stderr)
	}
	if out := mustRun(t, "list", "--repo", repo, "--json"); out != "[]\n" {
		t.Errorf("a refused backup is listed: %s", out)
	}
}

// TestInitIfMissing: init --if-missing creates a repository once and then
// finds it, exit 0 each time, as an init container runs it on every start.
func TestInitIfMissing(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	var first, again struct {
		Created bool
		Config  struct{ ID string }
	}
	for _, out := range []any{&first, &again} {
		if err := json.Unmarshal([]byte(mustRun(t, "init", "--repo", repo, "--if-missing", "--json")), out); err != nil {
			t.Fatal(err)
		}
	}
	if !first.Created || again.Created || first.Config.ID == "" || first.Config.ID != again.Config.ID {
		t.Errorf("init --if-missing twice: %+v then %+v; want created, then the same repository found", first, again)
	}
}

// TestLockedRepositoryExitCode: a command that cannot take its lock exits
// 11, naming the holder.
func TestLockedRepositoryExitCode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", dir)
	ctx := context.Background()
	repo, err := repository.Open(ctx, local.New(dir), repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	lock, err := repo.Lock(ctx, "backup", false)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Unlock(ctx)
	r := run(t, "prune", "--repo", dir)
	if r.code != 11 || !strings.Contains(r.stderr, "locked") || !strings.Contains(r.stderr, "backup") {
		t.Errorf("prune beside a backup's lock: exit %d, stderr %q; want 11 naming the backup's lock", r.code, r.stderr)
	}
}
