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
	cmd := exec.Command(bin, "--root", root, "--from-fixture", archive,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--flush-interval", "10ms", "--part-size", "2KiB")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the command has exited; waitErr is then its
	// outcome. lines gets what it prints (three lines and "ready").
	exited := make(chan struct{})
	var waitErr error
	defer func() {
		select {
		case <-exited:
		default:
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
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
		waitErr = cmd.Wait()
		close(exited)
	}()
	addrs := map[string]string{}
	timeout := time.After(60 * time.Second)
	for ready := false; !ready; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("exited before ready; stderr: %s", stderr.String())
			}
			if line == "ready" {
				ready = true
				break
			}
			kind, addr, found := strings.Cut(line, " ")
			if !found || (kind != "grpc" && kind != "http") || strings.HasSuffix(addr, ":0") || !strings.HasPrefix(addr, "127.0.0.1:") {
				t.Fatalf("unexpected line %q", line)
			}
			addrs[kind] = addr
		case <-timeout:
			t.Fatalf("not ready in time; stderr: %s", stderr.String())
		}
	}
	if addrs["grpc"] == "" || addrs["http"] == "" {
		t.Fatalf("addresses %v", addrs)
	}
	get := func(path string) string {
		resp, err := http.Get("http://" + addrs["http"] + path)
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
	if got := get("/api/healthz"); got != "SERVING" {
		t.Errorf("healthz answered %q", got)
	}
	resp, err := http.Post("http://"+addrs["http"]+"/api/v1/snapshot", "application/json", strings.NewReader("{}"))
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

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr: %s", waitErr, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("still running 20s after SIGTERM")
	}
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
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.msg) || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.msg)
		}
	}
}
