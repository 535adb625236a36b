package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

func countPacks(t *testing.T, repo string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(filepath.Join(repo, "data"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name()[0] != '.' {
			n++
		}
		return nil
	})
	return n
}

// TestKilledBackupIsNotListed kills a backup with SIGKILL once it has
// stored a pack, and checks that the repository lists no half backup,
// verifies, and takes the next backup.
func TestKilledBackupIsNotListed(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	first := backupJSONOf(t, repo, root)

	shard := filepath.Join(root, "stream", "data", "bk_stream", "seg-20261120", "shard-0")
	addPart(t, shard, "0000000000000002", 256<<20)
	before := countPacks(t, repo)

	cmd := exec.Command(binary, "backup", "--repo", repo, "--root", root, "--json")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for countPacks(t, repo) == before && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	killed := cmd.Process.Signal(syscall.SIGKILL) == nil
	state, _ := cmd.Process.Wait()
	if !killed || state.Success() {
		t.Fatalf("the backup finished before it could be killed (packs %d → %d)", before, countPacks(t, repo))
	}

	var list []backupOut
	if err := json.Unmarshal([]byte(mustRun(t, "list", "--repo", repo, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != first.ID {
		t.Fatalf("after a killed backup the repository lists %+v, want only %s", list, first.ShortID)
	}
	mustRun(t, "verify", "--repo", repo, "--read-data")
	again := backupJSONOf(t, repo, root)
	target := filepath.Join(t.TempDir(), "t")
	mustRun(t, "restore", again.ID, "--repo", repo, "--target", target)
	compareTrees(t, root, target)
}

// TestInterruptedBackupExitsCleanly sends SIGINT: the backup stops, says
// so, removes its lock and lists nothing.
func TestInterruptedBackupExitsCleanly(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	shard := filepath.Join(root, "stream", "data", "bk_stream", "seg-20261120", "shard-0")
	addPart(t, shard, "0000000000000002", 256<<20)

	cmd := exec.Command(binary, "backup", "--repo", repo, "--root", root)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for countPacks(t, repo) == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	_ = cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if err == nil {
		t.Fatal("the backup finished before it could be interrupted")
	}
	if code := cmd.ProcessState.ExitCode(); code != 130 {
		t.Errorf("interrupted backup: exit %d, want 130", code)
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted: %q", stderr.String())
	}
	if ents, _ := os.ReadDir(filepath.Join(repo, "locks")); len(ents) != 0 {
		t.Errorf("an interrupted backup left %d locks", len(ents))
	}
	if out := mustRun(t, "list", "--repo", repo, "--json"); out != "[]\n" {
		t.Errorf("an interrupted backup is listed: %s", out)
	}
	mustRun(t, "verify", "--repo", repo, "--read-data")
}

// packBytes totals the sizes of the stored packs.
func packBytes(t *testing.T, repo string) int64 {
	t.Helper()
	var n int64
	_ = filepath.WalkDir(filepath.Join(repo, "data"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name()[0] != '.' {
			if st, err := d.Info(); err == nil {
				n += st.Size()
			}
		}
		return nil
	})
	return n
}

// TestKilledBackupResumes kills a backup after a random number of packs
// and runs it again: the rerun adopts the packs the killed run stored and
// uploads no more than what remained plus one pack.
func TestKilledBackupResumes(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo, "--pack-size", "4")
	backupJSONOf(t, repo, root)
	shard := filepath.Join(root, "stream", "data", "bk_stream", "seg-20261120", "shard-0")
	addPart(t, shard, "0000000000000002", 96<<20)

	// What a backup of this state uploads when nothing interrupts it.
	whole := filepath.Join(t.TempDir(), "whole")
	if out, err := exec.Command("cp", "-a", repo, whole).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	full := backupJSONOf(t, whole, root)

	before, beforeBytes := countPacks(t, repo), packBytes(t, repo)
	stopAt := before + 1 + int(time.Now().UnixNano()%8) // a random point: 1 to 8 packs in
	cmd := exec.Command(binary, "backup", "--repo", repo, "--root", root)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for countPacks(t, repo) < stopAt && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	killed := cmd.Process.Signal(syscall.SIGKILL) == nil
	state, _ := cmd.Process.Wait()
	if !killed || state.Success() {
		t.Fatalf("the backup finished before it could be killed")
	}
	stored, storedPacks := packBytes(t, repo)-beforeBytes, countPacks(t, repo)-before

	again := backupJSONOf(t, repo, root)
	// A pack is sealed once it reaches the pack size (4 MiB here), so it
	// holds up to one chunk (4 MiB by default) more.
	const pack = 4<<20 + repository.DefaultChunkSize
	limit := full.BytesAdded - stored + pack + 64<<10 // one pack, plus slack for pack headers and the index
	t.Logf("killed after %d packs (%d bytes); a whole backup adds %d bytes; the rerun added %d and recovered %d packs",
		storedPacks, stored, full.BytesAdded, again.BytesAdded, again.PacksRecovered)
	if again.BytesAdded > limit {
		t.Errorf("the rerun uploaded %d bytes; want at most the remaining %d plus one pack (%d)", again.BytesAdded, full.BytesAdded-stored, limit)
	}
	target := filepath.Join(t.TempDir(), "t")
	mustRun(t, "restore", again.ID, "--repo", repo, "--target", target)
	compareTrees(t, root, target)
}
