package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// TestCrashLoop kills backups, prunes, restores (plain, --merge and
// --overwrite) and password changes of one encrypted repository at random
// points, at least 100 times in all. After each kill: verify --read-data
// is clean (no listed backup misses data); the killed restore, run again,
// finishes with the backup's files; and a --merge never changed the
// target's own data. The count goes to the test log and, when the test
// command gives BANYAN_TEST_REPORT, to that file.
func TestCrashLoop(t *testing.T) {
	c := newCrashLoop(t)
	const want = 100
	ops := []func() bool{c.backup, c.prune, c.restorePlain, c.restoreMerge, c.restoreOverwrite, c.changePassword}
	for i := 0; c.total() < want && i < 6*want; i++ {
		if op := ops[c.rng.IntN(len(ops))]; op() {
			c.checkRepository()
		}
		if t.Failed() {
			break
		}
	}
	line := fmt.Sprintf("crash loop: %d SIGKILLs (%s), seed %d", c.total(), c.summary(), c.seed)
	t.Log(line)
	if f := os.Getenv("BANYAN_TEST_REPORT"); f != "" {
		appendReport(t, f, line)
	}
	if c.total() < want {
		t.Errorf("%s; want at least %d", line, want)
	}
}

type crashLoop struct {
	t            *testing.T
	dir, repo    string
	static, live string // a root backed up once (restored), a root that grows (backed up)
	first        string // the backup of static
	passwords    [2]string
	cur          int
	kills        map[string]int
	rng          *rand.Rand
	seed         uint64
	parts        int
}

func newCrashLoop(t *testing.T) *crashLoop {
	seed := uint64(time.Now().UnixNano())
	c := &crashLoop{t: t, dir: t.TempDir(), kills: map[string]int{}, seed: seed, rng: rand.New(rand.NewPCG(seed, 4711))}
	c.repo = filepath.Join(c.dir, "repo")
	for i := range c.passwords {
		c.passwords[i] = filepath.Join(c.dir, fmt.Sprintf("password-%d", i))
		if err := os.WriteFile(c.passwords[i], []byte(fmt.Sprintf("crash loop password %d\n", i)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	mustRun(t, c.args("init", "--encrypt", "--kdf-memory", "8", "--kdf-time", "1")...)
	c.static = fixtureRoot(t, fixture.V011)
	c.live = rootWithPart(t, 4<<20)
	c.first = backupJSONOf(t, c.repo, c.static, "--password-file", c.passwords[c.cur], "--tag", "keep").ID
	backupJSONOf(t, c.repo, c.live, "--password-file", c.passwords[c.cur])
	return c
}

// args are a command's arguments with the repository and its password.
func (c *crashLoop) args(cmd ...string) []string {
	return append(cmd, "--repo", c.repo, "--password-file", c.passwords[c.cur])
}

func (c *crashLoop) total() int {
	n := 0
	for _, k := range c.kills {
		n += k
	}
	return n
}

func (c *crashLoop) summary() string {
	var parts []string
	for _, op := range []string{"backup", "prune", "restore", "restore --merge", "restore --overwrite", "key passwd"} {
		parts = append(parts, fmt.Sprintf("%s %d", op, c.kills[op]))
	}
	return strings.Join(parts, ", ")
}

// killed runs the CLI with args and sends SIGKILL after a random delay
// below max; it reports whether the signal ended the process.
func (c *crashLoop) killed(op string, max time.Duration, args ...string) bool {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	time.Sleep(time.Duration(c.rng.Int64N(int64(max))))
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		c.kills[op]++
		return true
	}
	if err != nil {
		c.t.Fatalf("%s (not killed) failed: %v\n%s", op, err, stderr.String())
	}
	return false
}

// checkRepository wants verify --read-data clean.
func (c *crashLoop) checkRepository() {
	c.t.Helper()
	if r := run(c.t, c.args("verify", "--read-data")...); r.code != 0 {
		c.t.Fatalf("after %s: verify --read-data exit %d:\n%s%s", c.summary(), r.code, r.stdout, r.stderr)
	}
}

func (c *crashLoop) backup() bool {
	c.parts++
	addPart(c.t, filepath.Join(c.live, "stream", "data", "bk_stream", "seg-20261120", "shard-0"), fmt.Sprintf("%016x", 0x100+c.parts), 2<<20)
	return c.killed("backup", 600*time.Millisecond, c.args("backup", "--root", c.live, "--limit-read", "16MiB")...)
}

func (c *crashLoop) prune() bool {
	mustRun(c.t, c.args("forget", "--keep-last", "2", "--keep-tag", "keep")...)
	return c.killed("prune", 300*time.Millisecond, c.args("prune")...)
}

// restore kills a restore of the static root's backup into target with
// extra flags, runs it again to the end, and returns whether it was killed.
func (c *crashLoop) restore(op, target string, extra ...string) bool {
	args := c.args(append([]string{"restore", c.first, "--target", target, "--limit-download", "32MiB"}, extra...)...)
	k := c.killed(op, 400*time.Millisecond, args...)
	if k {
		// A restore killed after it removed its marker was complete: its
		// rerun finds a target holding data (docs/restore.md, Interrupted
		// restores), which only a plain restore refuses.
		if r := run(c.t, args...); r.code != 0 && (len(extra) > 0 || hasMarker(target)) {
			c.t.Fatalf("rerun of a killed %s: exit %d\n%s", op, r.code, r.stderr)
		}
	}
	return k
}

// hasMarker reports whether target holds an interrupted restore's marker.
func hasMarker(target string) bool {
	_, err := os.Stat(filepath.Join(target, "RESTORE-IN-PROGRESS"))
	return err == nil
}

func (c *crashLoop) restorePlain() bool {
	target := filepath.Join(c.t.TempDir(), "plain")
	k := c.restore("restore", target)
	compareTrees(c.t, c.static, target)
	return k
}

func (c *crashLoop) restoreMerge() bool {
	target := filepath.Join(c.t.TempDir(), "merge")
	mustRun(c.t, c.args("restore", c.first, "--target", target, "--catalog", "measure", "--group", "bk_measure")...)
	own, data := ownFile(c.t, target)
	k := c.restore("restore --merge", target, "--merge", "--target-version", "0.11")
	if got, err := os.ReadFile(own); err != nil || !bytes.Equal(got, data) {
		c.t.Fatalf("a killed and resumed --merge changed the target's own %s (%v)", own, err)
	}
	if _, err := os.Stat(filepath.Join(target, "stream", "data", "bk_stream")); err != nil {
		c.t.Fatalf("the resumed --merge did not add the stream group: %v", err)
	}
	return k
}

func (c *crashLoop) restoreOverwrite() bool {
	target := filepath.Join(c.t.TempDir(), "overwrite")
	mustRun(c.t, c.args("restore", c.first, "--target", target)...)
	ownFile(c.t, target)
	k := c.restore("restore --overwrite", target, "--overwrite", "--target-version", "0.11")
	compareTrees(c.t, c.static, target)
	return k
}

func (c *crashLoop) changePassword() bool {
	next := 1 - c.cur
	k := c.killed("key passwd", 80*time.Millisecond, c.args("key", "passwd", "--new-password-file", c.passwords[next], "--kdf-memory", "8", "--kdf-time", "1")...)
	// The old password opens unless the change got to its end; then the
	// new one must.
	if r := run(c.t, c.args("list")...); r.code == 12 {
		c.cur = next
	}
	return k
}

// ownFile replaces the first primary.bin of the target's bk_measure with
// the target's own bytes, as data the target had, and returns it.
func ownFile(t *testing.T, target string) (string, []byte) {
	t.Helper()
	var found string
	_ = filepath.WalkDir(filepath.Join(target, "measure", "data", "bk_measure"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && found == "" && d.Name() == "primary.bin" {
			found = p
		}
		return err
	})
	if found == "" {
		t.Fatal("no primary.bin in the target")
	}
	data := []byte("the target's own bytes, not the backup's")
	if err := os.WriteFile(found, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return found, data
}

func appendReport(t *testing.T, path, line string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}
