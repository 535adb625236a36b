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

// copyOut is what copy --json prints, in part.
type copyOut struct {
	Backups []struct {
		SourceID string `json:"source_id"`
		Status   string `json:"status"`
		Tree     string `json:"tree"`
		ID       string `json:"id"`
	} `json:"backups"`
	Copied         int   `json:"copied"`
	Present        int   `json:"present"`
	BytesAdded     int64 `json:"bytes_added"`
	PacksRecovered int   `json:"packs_recovered"`
}

func copyJSONOf(t *testing.T, args ...string) copyOut {
	t.Helper()
	var out copyOut
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"copy", "--json"}, args...)...)), &out); err != nil {
		t.Fatalf("copy --json printed no JSON: %v", err)
	}
	return out
}

func listOf(t *testing.T, repo string) []struct {
	ID   string `json:"id"`
	Tree string `json:"tree"`
} {
	t.Helper()
	var list []struct {
		ID   string `json:"id"`
		Tree string `json:"tree"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, "list", "--repo", repo, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	return list
}

// copy makes the source's backup in the destination, with the same root
// tree; run again it copies nothing; the destination verifies and
// restores the root.
func TestCopyCommand(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	src, dst := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst")
	mustRun(t, "init", "--repo", src)
	mustRun(t, "init", "--repo", dst)
	b := backupJSONOf(t, src, root)

	if r := run(t, "copy", "--repo", dst); r.code != exitUsage || !strings.Contains(r.stderr, "--from-repo") {
		t.Errorf("copy without a source: exit %d, %q", r.code, r.stderr)
	}
	out := copyJSONOf(t, "--from-repo", src, "--repo", dst)
	if out.Copied != 1 || len(out.Backups) != 1 || out.Backups[0].SourceID != b.ID {
		t.Fatalf("copy: %+v", out)
	}
	list := listOf(t, dst)
	if len(list) != 1 || list[0].Tree != listOf(t, src)[0].Tree || list[0].ID != out.Backups[0].ID {
		t.Fatalf("the destination lists %+v after the copy %+v", list, out)
	}
	if again := copyJSONOf(t, "--from-repo", src, "--repo", dst); again.Copied != 0 || again.Present != 1 {
		t.Fatalf("copy again: %+v, want the backup present", again)
	}
	if show := mustRun(t, "show", "latest", "--repo", dst); !strings.Contains(show, "copied      from backup "+b.ShortID) {
		t.Errorf("show does not say where the copy came from:\n%s", show)
	}
	mustRun(t, "verify", "--repo", dst, "--read-data")
	target := filepath.Join(t.TempDir(), "t")
	mustRun(t, "restore", "latest", "--repo", dst, "--target", target)
	compareTrees(t, root, target)
}

// A copy killed with SIGKILL once it has stored packs lists nothing; run
// again it adopts the packs the killed run stored and copies no more than
// the rest plus one pack.
func TestKilledCopyResumes(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	src, dst := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst")
	mustRun(t, "init", "--repo", src, "--pack-size", "4")
	mustRun(t, "init", "--repo", dst, "--pack-size", "4")
	shard := filepath.Join(root, "stream", "data", "bk_stream", "seg-20261120", "shard-0")
	addPart(t, shard, "0000000000000002", 96<<20)
	backupJSONOf(t, src, root)

	// What a copy into the empty destination adds when nothing interrupts it.
	whole := filepath.Join(t.TempDir(), "whole")
	if out, err := exec.Command("cp", "-a", dst, whole).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	full := copyJSONOf(t, "--from-repo", src, "--repo", whole)

	stopAt := 1 + int(time.Now().UnixNano()%8) // a random point: 1 to 8 packs in
	// The limit keeps the copy going for about 4 s, so that it is killed
	// while it runs even on a slow machine.
	cmd := exec.Command(binary, "copy", "--from-repo", src, "--repo", dst, "--limit-upload", "24MiB")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for countPacks(t, dst) < stopAt && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	killed := cmd.Process.Signal(syscall.SIGKILL) == nil
	state, _ := cmd.Process.Wait()
	if !killed || state.Success() {
		t.Fatalf("the copy finished before it could be killed")
	}
	stored, storedPacks := packBytes(t, dst), countPacks(t, dst)
	if list := listOf(t, dst); len(list) != 0 {
		t.Fatalf("a killed copy is listed: %+v", list)
	}

	again := copyJSONOf(t, "--from-repo", src, "--repo", dst)
	const pack = 4<<20 + repository.DefaultChunkSize // a pack closes past 4 MiB, by up to a chunk
	limit := full.BytesAdded - stored + pack + 64<<10
	t.Logf("killed after %d packs (%d bytes); a whole copy adds %d bytes; the rerun added %d and recovered %d packs",
		storedPacks, stored, full.BytesAdded, again.BytesAdded, again.PacksRecovered)
	if again.Copied != 1 || again.BytesAdded > limit {
		t.Errorf("the rerun copied %d backups and added %d bytes; want 1, and at most the remaining %d plus one pack (%d)",
			again.Copied, again.BytesAdded, full.BytesAdded-stored, limit)
	}
	if again.PacksRecovered == 0 && storedPacks > 1 {
		t.Errorf("the rerun adopted none of the %d packs the killed copy stored", storedPacks)
	}
	mustRun(t, "verify", "--repo", dst, "--read-data")
	target := filepath.Join(t.TempDir(), "t")
	mustRun(t, "restore", "latest", "--repo", dst, "--target", target)
	compareTrees(t, root, target)
}

// A copy from a repository with a damaged pack exits 3 and lists nothing
// in the destination.
func TestCopyFromDamagedRepositoryExits3(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	src, dst := filepath.Join(t.TempDir(), "src"), filepath.Join(t.TempDir(), "dst")
	mustRun(t, "init", "--repo", src)
	mustRun(t, "init", "--repo", dst)
	backupJSONOf(t, src, root)
	path, blobs := packOf(t, src, repository.DataBlob)
	flipByte(t, path, int64(blobs[0].Offset))

	r := run(t, "copy", "--from-repo", src, "--repo", dst)
	if r.code != exitIntegrity || !strings.Contains(r.stderr, "does not match its hash") {
		t.Fatalf("copy from a damaged repository: exit %d, stderr %q; want 3 naming the damaged blob", r.code, r.stderr)
	}
	if list := listOf(t, dst); len(list) != 0 {
		t.Fatalf("a failed copy is listed: %+v", list)
	}
	if ents, _ := os.ReadDir(filepath.Join(dst, "manifests")); len(ents) != 0 {
		t.Fatalf("a failed copy wrote %d manifests", len(ents))
	}
	mustRun(t, "verify", "--repo", dst, "--read-data")
}

// copy opens an encrypted source with its own password (--from-password-file,
// or BANYAN_BACKUP_FROM_PASSWORD) and seals the copy with the destination's:
// neither password opens the other repository, and the copy restores the
// root.
func TestCopyBetweenEncryptedRepositories(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	srcPW, dstPW := write("src-pw", "source password\n"), write("dst-pw", "destination password\n")
	kdf := []string{"--kdf-memory", "8", "--kdf-time", "1"}
	root := fixtureRoot(t, fixture.V011)
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	mustRun(t, append([]string{"init", "--repo", src, "--password-file", srcPW}, kdf...)...)
	mustRun(t, append([]string{"init", "--repo", dst, "--password-file", dstPW}, kdf...)...)
	b := backupJSONOf(t, src, root, "--password-file", srcPW)

	if r := run(t, "copy", "--from-repo", src, "--repo", dst, "--password-file", dstPW); r.code != exitUsage || !strings.Contains(r.stderr, "--from-password-file") {
		t.Fatalf("copy without the source's password: exit %d, %q; want 2 naming --from-password-file", r.code, r.stderr)
	}
	if r := run(t, "copy", "--from-repo", src, "--repo", dst, "--password-file", dstPW, "--from-password-file", dstPW); r.code != 12 {
		t.Fatalf("copy with the destination's password for the source: exit %d, %q; want 12", r.code, r.stderr)
	}
	out := copyJSONOf(t, "--from-repo", src, "--from-password-file", srcPW, "--repo", dst, "--password-file", dstPW)
	if out.Copied != 1 || out.Backups[0].SourceID != b.ID {
		t.Fatalf("copy: %+v", out)
	}
	// Both passwords from the environment, each in its own variable.
	cmd := exec.Command(binary, "copy", "--from-repo", src, "--repo", dst, "--json")
	cmd.Env = append(os.Environ(), "BANYAN_BACKUP_FROM_PASSWORD=source password", "BANYAN_BACKUP_PASSWORD=destination password")
	if got, err := cmd.Output(); err != nil || !strings.Contains(string(got), `"present": 1`) {
		t.Fatalf("copy with the passwords in the environment: %v\n%s", err, got)
	}
	if r := run(t, "list", "--repo", dst, "--password-file", srcPW); r.code != 12 {
		t.Errorf("the source's password opens the destination: exit %d", r.code)
	}
	mustRun(t, "verify", "--repo", dst, "--password-file", dstPW, "--read-data")
	target := filepath.Join(t.TempDir(), "t")
	mustRun(t, "restore", "latest", "--repo", dst, "--password-file", dstPW, "--target", target)
	compareTrees(t, root, target)
}
