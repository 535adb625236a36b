package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// node is a running banyand-sim on a copy of a real 0.11 data root.
type node struct {
	root, grpc, http string
	cmd              *exec.Cmd
}

// startNode starts the simulator on the 0.11 fixture with writes going on,
// and stops it when the test ends.
func startNode(t *testing.T, root string) *node {
	t.Helper()
	fixture := filepath.Join(repoRoot, "testdata", "fixtures", "banyandb-0.11.0-dev-small.tar.zst")
	cmd := exec.Command(simBin, "--root", root, "--from-fixture", fixture, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--flush-interval", "200ms", "--seed", "1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{root: root, cmd: cmd}
	t.Cleanup(n.stop)
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "grpc":
				n.grpc = f[1]
			case len(f) == 2 && f[0] == "http":
				n.http = f[1]
			case len(f) > 0 && f[0] == "ready":
				close(ready)
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(2 * time.Minute):
		t.Fatal("banyand-sim did not start within 2 minutes")
	}
	return n
}

// stop ends the simulator (SIGTERM) and waits for it; it releases the
// root's group locks, as a stopped BanyanDB does.
func (n *node) stop() {
	if n.cmd.Process == nil || n.cmd.ProcessState != nil {
		return
	}
	_ = n.cmd.Process.Signal(os.Interrupt)
	_ = n.cmd.Wait()
}
