package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

type forgetOut struct {
	DryRun bool   `json:"dry_run"`
	Policy string `json:"policy"`
	Groups []struct {
		Host   string `json:"host"`
		Source string `json:"source"`
		Keep   []struct {
			ID      string   `json:"id"`
			Reasons []string `json:"reasons"`
		} `json:"keep"`
		Remove []struct {
			ID string `json:"id"`
		} `json:"remove"`
	} `json:"groups"`
	Removed []string `json:"removed"`
	Prune   *struct {
		PacksDeleted int   `json:"packs_deleted"`
		BytesFreed   int64 `json:"bytes_freed"`
	} `json:"prune"`
}

func forgetJSONOf(t *testing.T, args ...string) forgetOut {
	t.Helper()
	var out forgetOut
	stdout := mustRun(t, append([]string{"forget", "--json"}, args...)...)
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("forget --json printed no JSON: %v\n%s", err, stdout)
	}
	return out
}

func listIDs(t *testing.T, repo string) []string {
	t.Helper()
	var list []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "list", "--repo", repo, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range list {
		ids = append(ids, b.ID)
	}
	return ids
}

func TestForgetAndPrune(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	shard := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261122", "shard-0")
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b1 := backupJSONOf(t, repo, root, "--tag", "release")
	addPart(t, shard, "00000000000000f1", 600<<10)
	b2 := backupJSONOf(t, repo, root)
	if err := os.RemoveAll(filepath.Join(shard, "00000000000000f1")); err != nil {
		t.Fatal(err)
	}
	addPart(t, shard, "00000000000000f2", 100<<10)
	b3 := backupJSONOf(t, repo, root)
	b4 := backupJSONOf(t, repo, root)

	policy := []string{"--repo", repo, "--keep-last", "1", "--keep-tag", "release"}
	dry := forgetJSONOf(t, append(policy, "--dry-run")...)
	if !dry.DryRun || len(dry.Groups) != 1 {
		t.Fatalf("dry run: %+v", dry)
	}
	g := dry.Groups[0]
	var kept []string
	for _, k := range g.Keep {
		kept = append(kept, k.ID+" "+strings.Join(k.Reasons, ","))
	}
	if want := []string{b4.ID + " last snapshot", b1.ID + " has tags [release]"}; !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
	if want := []string{b3.ID, b2.ID}; !slices.Equal(dry.Removed, want) {
		t.Errorf("would remove %v, want %v", dry.Removed, want)
	}
	if n := len(listIDs(t, repo)); n != 4 {
		t.Fatalf("a dry run removed backups: %d left", n)
	}

	before := dirSize(t, repo)
	out := forgetJSONOf(t, append(policy, "--prune")...)
	after := dirSize(t, repo)
	if out.Prune == nil || out.Prune.PacksDeleted == 0 || len(out.Removed) != 2 {
		t.Fatalf("forget --prune: %+v", out)
	}
	// The 600 KiB part only b2 had is gone.
	if before-after < 600<<10 {
		t.Errorf("repository %d → %d bytes: want the 600 KiB part of the forgotten backup freed", before, after)
	}
	if ids := listIDs(t, repo); !slices.Equal(ids, []string{b1.ID, b4.ID}) {
		t.Errorf("backups after forget: %v", ids)
	}
	mustRun(t, "verify", "--repo", repo, "--read-data")

	// By id prefix, then prune in text.
	out = forgetJSONOf(t, "--repo", repo, b1.ShortID)
	if !slices.Equal(out.Removed, []string{b1.ID}) {
		t.Errorf("forget %s removed %v", b1.ShortID, out.Removed)
	}
	if text := mustRun(t, "prune", "--repo", repo); !strings.Contains(text, "freed") {
		t.Errorf("prune printed %q", text)
	}
	if text := mustRun(t, "prune", "--repo", repo); !strings.Contains(text, "nothing to prune") {
		t.Errorf("a second prune printed %q", text)
	}
	mustRun(t, "verify", "--repo", repo, "--read-data")
}

func TestForgetBadInput(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"forget"}, "nothing to forget"},
		{[]string{"forget", "abcd", "--keep-last", "1"}, "not both"},
		{[]string{"forget", "--keep-within", "30 days"}, "duration"},
		{[]string{"forget", "--keep-daily", "-5"}, "keep-daily"},
		{[]string{"forget", "--keep-last", "1", "--group-by", "colour"}, "group-by"},
		{[]string{"forget", "--keep-tag", "a,,b"}, "keep-tag"},
		{[]string{"forget", "--keep-last", "1", "--time-zone", "Mars/Olympus"}, "time-zone"},
		{[]string{"prune", "extra"}, "unknown command"},
	} {
		r := run(t, append(tc.args, "--repo", repo)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 mentioning %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if r := run(t, "forget", "--repo", repo, "0123456789"); r.code != 1 || !strings.Contains(r.stderr, "no backup id starts with") {
		t.Errorf("forget of an unknown id: exit %d, %q", r.code, r.stderr)
	}
}

// TestPruneAndBackupTogether runs a backup and a prune at the same time,
// both with --lock-wait: whichever gets the lock first, the other waits,
// both succeed and every backup verifies.
func TestPruneAndBackupTogether(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	shard := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261122", "shard-0")
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	addPart(t, shard, "00000000000000f1", 300<<10)
	old := backupJSONOf(t, repo, root)
	if err := os.RemoveAll(filepath.Join(shard, "00000000000000f1")); err != nil {
		t.Fatal(err)
	}
	backupJSONOf(t, repo, root)
	mustRun(t, "forget", "--repo", repo, old.ID)
	addPart(t, shard, "00000000000000f2", 2<<20)

	start := func(args ...string) (*exec.Cmd, *syncBuffer) {
		cmd := exec.Command(binary, append(args, "--repo", repo, "--lock-wait", "2m")...)
		var stderr syncBuffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr
	}
	backup, berr := start("backup", "--root", root, "--quiet")
	prune, perr := start("prune", "--quiet")
	if err := backup.Wait(); err != nil {
		t.Errorf("backup: %v: %s", err, berr.String())
	}
	if err := prune.Wait(); err != nil {
		t.Errorf("prune: %v: %s", err, perr.String())
	}
	if ids := listIDs(t, repo); len(ids) != 2 {
		t.Errorf("%d backups, want 2", len(ids))
	}
	mustRun(t, "verify", "--repo", repo, "--read-data")
}
