package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// buildSim builds this command into a temporary directory.
func buildSim(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "banyand-sim")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// proc is a banyand-sim process a test started.
type proc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	// addrs are the "grpc" and "http" addresses it printed, name its
	// node name (cluster roles).
	addrs map[string]string
	name  string
	// exited is closed once the process has exited; waitErr is then its
	// outcome.
	exited  chan struct{}
	waitErr error
}

// startSim starts bin with args, waits until it prints "ready", and kills
// it when the test ends if it still runs.
func startSim(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), stderr: &bytes.Buffer{}, addrs: map[string]string{}, exited: make(chan struct{})}
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	})
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads any more
			}
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("exited before ready; stderr: %s", p.stderr.String())
			}
			if line == "ready" {
				if p.addrs["grpc"] == "" || p.addrs["http"] == "" {
					t.Fatalf("addresses %v", p.addrs)
				}
				return p
			}
			kind, addr, found := strings.Cut(line, " ")
			switch {
			case found && kind == "name":
				p.name = addr
			case !found || (kind != "grpc" && kind != "http") || strings.HasSuffix(addr, ":0") || !strings.HasPrefix(addr, "127.0.0.1:"):
				t.Fatalf("unexpected line %q", line)
			default:
				p.addrs[kind] = addr
			}
		case <-timeout:
			t.Fatalf("not ready in time; stderr: %s", p.stderr.String())
		}
	}
}

// get reads path from the process's HTTP port.
func (p *proc) get(t *testing.T, path string) string {
	t.Helper()
	resp, err := http.Get("http://" + p.addrs["http"] + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// stop sends SIGTERM and fails the test unless the process exits cleanly.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr: %s", p.waitErr, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20s after SIGTERM")
	}
}

func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	bin := buildSim(t)
	archive, err := fixture.Path(fixture.V011)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "root")
	p := startSim(t, bin, "--root", root, "--from-fixture", archive,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--flush-interval", "10ms", "--part-size", "2KiB")
	if p.name != "" {
		t.Errorf("a standalone server printed a node name %q", p.name)
	}
	if got := p.get(t, "/api/healthz"); got != "SERVING" {
		t.Errorf("healthz answered %q", got)
	}
	resp, err := http.Post("http://"+p.addrs["http"]+"/api/v1/snapshot", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if entries, err := os.ReadDir(filepath.Join(root, "measure", "snapshots")); err != nil || len(entries) != 1 {
		t.Errorf("measure snapshots: %v, %v", entries, err)
	}
	if err := banyandb.CheckNotLocked(banyandb.Roots{Root: root}, nil); !errors.Is(err, banyandb.ErrLocked) {
		t.Errorf("locks while running: %v", err)
	}
	p.stop(t)
	if err := banyandb.CheckNotLocked(banyandb.Roots{Root: root}, nil); err != nil {
		t.Errorf("locks after exit: %v", err)
	}
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{nil, exitUsage, "--root is required"},
		{[]string{"--root", "r", "--part-size", "lots"}, exitUsage, "cannot parse --part-size"},
		{[]string{"--root", "r", "--time-zone", "Mars/Olympus"}, exitUsage, "cannot parse --time-zone"},
		{[]string{"--root", "r", "extra"}, exitUsage, "unexpected argument"},
		{[]string{"-h"}, exitOK, "-flush-interval"},
		{[]string{"--root", filepath.Join(t.TempDir(), "r"), "--from-fixture", t.TempDir()}, exitError, "cannot seed"},
		{[]string{"--root", "r", "--role", "hot"}, exitUsage, "cannot parse --role"},
		{[]string{"--root", "r", "--role", "data"}, exitUsage, "--role data needs --schema or --from-fixture"},
		{[]string{"--root", "r", "--role", "liaison", "--schema", "s.json"}, exitUsage, "--role liaison needs --node-discovery-file"},
		{[]string{"--root", "r", "--role", "data", "--schema", filepath.Join(t.TempDir(), "none.json")}, exitError, "cannot read schema"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.msg)
		}
	}
}
