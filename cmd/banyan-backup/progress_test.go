package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// runProgress runs the CLI with extra environment variables (runEnv); its
// stderr is a pipe, not a terminal.
func runProgress(t *testing.T, env []string, args ...string) result {
	t.Helper()
	so, se, code := runEnv(t, env, args...)
	return result{so, se, code}
}

// slowRoot is the 0.11 fixture with 4 MiB of random data added, so that a
// backup held to 512 KiB/s reads for about 9 seconds.
func slowRoot(t *testing.T) string {
	t.Helper()
	root := fixtureRoot(t, fixture.V011)
	for i := range 4 {
		b := make([]byte, 1<<20)
		rand.Read(b)
		if err := os.WriteFile(filepath.Join(root, "measure", "data", "bulk-"+strconv.Itoa(i)+".bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var (
	progressLine = regexp.MustCompile(`^progress: backup (\d+)%: \d+/\d+ files, [^,]+(?:, ([\d.]+) (B|KiB|MiB)/s)?(?:, (\S+) left)?, (\S+) elapsed$`)
	units        = map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20}
)

// A backup whose stderr is a pipe (a CronJob's or systemd's log) prints a
// plain progress line every --progress-interval: no carriage return, no
// escape sequence; a rate never above --limit-read, though the limiter lets
// a second's worth through at once after the scan; and no estimate of the
// time left until the rate means something, then a sane one.
func TestProgressLinesOffATerminal(t *testing.T) {
	root := slowRoot(t)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	const limit = 512 << 10
	r := runProgress(t, nil, "backup", "--repo", repo, "--root", root, "--limit-read", "512KiB", "--progress-interval", "1s")
	if r.code != 0 {
		t.Fatalf("backup: exit %d\n%s", r.code, r.stderr)
	}
	if strings.ContainsAny(r.stderr, "\r\x1b") {
		t.Errorf("stderr holds carriage returns or escape sequences: %q", r.stderr)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if strings.HasPrefix(l, "progress: backup ") && !strings.HasPrefix(l, "progress: backup done") {
			lines = append(lines, l)
		}
	}
	if len(lines) < 4 {
		t.Fatalf("%d progress lines of the backup phase in a run of about 9 s at 1 s intervals, want at least 4:\n%s", len(lines), r.stderr)
	}
	if !strings.Contains(r.stderr, "progress: backup done: ") {
		t.Errorf("no line for the end of the phase:\n%s", r.stderr)
	}
	sawLeft := false
	for _, l := range lines {
		m := progressLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("progress line %q is not of the expected form", l)
			continue
		}
		elapsed, err := time.ParseDuration(m[5])
		if err != nil {
			t.Errorf("%q: elapsed %v", l, err)
			continue
		}
		if m[2] != "" {
			rate, _ := strconv.ParseFloat(m[2], 64)
			if rate*units[m[3]] > limit*1.05 {
				t.Errorf("%q: rate above --limit-read 512KiB", l)
			}
		}
		if m[4] == "" {
			continue
		}
		left, err := time.ParseDuration(m[4])
		if err != nil {
			t.Errorf("%q: time left %v", l, err)
			continue
		}
		if !sawLeft && (elapsed < 5*time.Second || left > 2*time.Minute) {
			t.Errorf("%q: first estimate of the time left at %v elapsed, of %v; want none before 5 s, and less than 2 minutes for 4.9 MiB at 512 KiB/s", l, elapsed, left)
		}
		sawLeft = true
	}
	if !sawLeft {
		t.Errorf("no progress line estimates the time left:\n%s", r.stderr)
	}
}

// With --json, progress lines are JSON objects ("message_type":"status")
// on stderr; the interval may come from BANYAN_BACKUP_PROGRESS_INTERVAL;
// --quiet prints none; a bad interval is a usage error.
func TestProgressJSONLinesQuietAndInterval(t *testing.T) {
	root := slowRoot(t)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	env := []string{"BANYAN_BACKUP_PROGRESS_INTERVAL=300ms"}
	r := runProgress(t, env, "backup", "--repo", repo, "--root", root, "--limit-read", "2MiB", "--json")
	if r.code != 0 {
		t.Fatalf("backup --json: exit %d\n%s", r.code, r.stderr)
	}
	var statuses []progressJSON
	for _, l := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		var p progressJSON
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.MessageType != "status" {
			t.Errorf("stderr line %q is not a JSON status (%v)", l, err)
			continue
		}
		statuses = append(statuses, p)
	}
	var backup []progressJSON
	for _, p := range statuses {
		if p.Phase == "backup" {
			backup = append(backup, p)
		}
	}
	if len(backup) < 2 || !backup[len(backup)-1].Done || backup[len(backup)-1].BytesDone != backup[len(backup)-1].BytesTotal {
		t.Errorf("status lines of the backup phase %+v: want several, the last one done with every byte", backup)
	}
	var out backupOut
	decode(t, r.stdout, &out) // stdout holds the result alone

	r = runProgress(t, env, "backup", "--repo", repo, "--root", root, "--limit-read", "2MiB", "--force-rehash", "--quiet")
	if r.code != 0 || r.stderr != "" {
		t.Errorf("backup --quiet: exit %d, stderr %q; want nothing on stderr", r.code, r.stderr)
	}
	for _, bad := range [][]string{{"--progress-interval", "soon"}, {"--progress-interval", "-1s"}} {
		if r := runProgress(t, nil, append([]string{"list", "--repo", repo}, bad...)...); r.code != 2 {
			t.Errorf("list %v: exit %d, want 2", bad, r.code)
		}
	}
	if r := runProgress(t, []string{"BANYAN_BACKUP_PROGRESS_INTERVAL=often"}, "list", "--repo", repo); r.code != 2 || !strings.Contains(r.stderr, "BANYAN_BACKUP_PROGRESS_INTERVAL") {
		t.Errorf("BANYAN_BACKUP_PROGRESS_INTERVAL=often: exit %d, %q; want 2 naming the variable", r.code, r.stderr)
	}
}

// On a terminal the status is one line redrawn in place, ended by a
// newline when the phase is done.
func TestTerminalProgressRedrawsOneLine(t *testing.T) {
	var buf syncBuffer
	d := &display{w: &buf, mode: modeTerminal, every: 10 * time.Millisecond, now: time.Now}
	d.Start("backup", 2, 100)
	d.Advance(1, 50)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(buf.String(), "\r\x1b[Kbackup 50%: 1/2 files, 50 B/100 B") {
		if time.Now().After(deadline) {
			t.Fatalf("no status line after 30 s: %q", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	d.Done()
	out := buf.String()
	if !strings.HasSuffix(out, "\r\x1b[Kbackup done: 1/2 files, 50 B/100 B\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("terminal output %q: want redraws of one line, ended by the phase's end and a newline", out)
	}
}
