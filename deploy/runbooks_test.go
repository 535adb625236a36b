package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// shBlocks returns the ```sh blocks of a Markdown file, in order.
func shBlocks(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []string
	var cur *strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(l) == "```sh":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(l) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(l + "\n")
		}
	}
	if cur != nil {
		t.Fatalf("%s: a ```sh block is not closed", path)
	}
	return blocks
}

// runbook is one runbook and the node it starts from.
type runbook struct {
	file    string
	fixture string
	simArgs []string // for every start of the simulator
	// fresh: ROOT is a new, empty root on another machine; the node that was
	// backed up is gone.
	fresh bool
}

// Every command of every runbook runs, in order, as an operator would type
// it: against the node simulator on a real data root (the 0.10.2 one for
// upgrades), with a local repository holding a backup of it, and ROOT,
// NODE and BANYAN_BACKUP_REPO set. systemctl and kubectl are stand-ins:
// `systemctl stop|start banyandb` stops or starts the simulator on ROOT;
// `kubectl delete pod banyandb-0` stops it, empties the volume if its claim
// was deleted, runs the init containers' arguments from
// kubernetes/statefulset.yaml, and starts it again; `kubectl exec … --`
// runs the command here. /data in the pod is the test's volume. Blocks
// fenced ```bash are shown, not run: they need a whole cluster (new-machine.md's
// restore of a backup set), whose commands cmd/banyan-backup's cluster
// restore tests run instead (TestClusterRestorePlanCommands runs a plan's
// printed commands as printed).
func TestRunbooks(t *testing.T) {
	const v011, v0102 = "banyandb-0.11.0-dev-small.tar.zst", "banyandb-0.10.2-small.tar.zst"
	books := []runbook{
		{file: "disaster-recovery.md", fixture: v011},
		{file: "upgrade.md", fixture: v0102, simArgs: []string{"--api-version", "0.10", "--flush-interval", "0"}},
		{file: "new-machine.md", fixture: v011, fresh: true},
		{file: "verify.md", fixture: v011},
	}
	listed, err := filepath.Glob(filepath.Join(repoRoot, "docs", "runbooks", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range listed {
		name := filepath.Base(p)
		covered := name == "README.md"
		for _, b := range books {
			covered = covered || b.file == name
		}
		if !covered {
			t.Errorf("docs/runbooks/%s is not run by this test: add it to the list", name)
		}
	}
	for _, b := range books {
		t.Run(b.file, func(t *testing.T) { runRunbook(t, b) })
	}
}

func runRunbook(t *testing.T, b runbook) {
	blocks := shBlocks(t, filepath.Join(repoRoot, "docs", "runbooks", b.file))
	if len(blocks) == 0 {
		t.Fatalf("%s has no sh block", b.file)
	}
	dir := t.TempDir()
	volume := filepath.Join(dir, "volume")
	root := filepath.Join(volume, "banyandb")
	repo := filepath.Join(dir, "repo")
	node := freeAddr(t)
	stubs := filepath.Join(dir, "bin")
	env := []string{
		"BANYAN_BACKUP_REPO=" + repo, "ROOT=" + root, "NODE=" + node, "TZ=UTC",
		"XDG_CACHE_HOME=" + filepath.Join(dir, "cache"), "PATH=" + stubs + string(os.PathListSeparator) + os.Getenv("PATH"),
		"SIM_BIN=" + simBin, "SIM_PID=" + filepath.Join(dir, "sim.pid"), "SIM_OUT=" + filepath.Join(dir, "sim.out"),
		"SIM_ARGS=" + strings.Join(b.simArgs, " "), "VOLUME=" + volume, "WORK=" + dir,
		"INIT_CMDS=" + strings.Join(initContainerArgs(t), "\n"),
	}
	writeStubs(t, stubs)
	t.Cleanup(func() { stopStubSim(filepath.Join(dir, "sim.pid")) })

	// The starting point: a node with a backup in its repository.
	sim := root
	if b.fresh {
		sim = filepath.Join(dir, "old-machine", "banyandb")
	}
	startSim(t, env, sim, node, b)
	runCLI(t, nil, "init", "--repo", repo)
	runCLI(t, []string{"TZ=UTC"}, "backup", "--repo", repo, "--root", sim, "--node", node, "--quiet")
	if b.fresh {
		stopStubSim(filepath.Join(dir, "sim.pid"))
	}

	script := "set -euo pipefail\ncd \"$WORK\"\n"
	for i, blk := range blocks {
		script += fmt.Sprintf("echo '### block %d'\n%s", i+1, blk)
	}
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s: %d blocks in %.1fs\n%s", b.file, len(blocks), time.Since(start).Seconds(), out.String())
	if err != nil {
		t.Fatalf("%s: %v\n%s", b.file, err, out.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("### block %d", len(blocks))) {
		t.Fatalf("%s: the last block did not run:\n%s", b.file, out.String())
	}
}

// startSim starts the simulator from the runbook's fixture, as the stub's
// start does but with the fixture, and records its pid for the stubs.
func startSim(t *testing.T, env []string, root, node string, b runbook) {
	t.Helper()
	fixture := filepath.Join(repoRoot, "testdata", "fixtures", b.fixture)
	args := append([]string{"--root", root, "--from-fixture", fixture, "--grpc-addr", node, "--http-addr", "127.0.0.1:0", "--seed", "1"}, b.simArgs...)
	cmd := exec.Command("bash", append([]string{"-c", `"$SIM_BIN" "$@" >"$SIM_OUT" 2>&1 & echo $! >"$SIM_PID"
for _ in $(seq 1200); do grep -q '^ready' "$SIM_OUT" 2>/dev/null && exit 0; sleep 0.1; done
cat "$SIM_OUT" >&2; exit 1`, "sim"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("banyand-sim did not start: %v\n%s", err, out)
	}
}

// stopStubSim ends a simulator the stubs started, if one runs.
func stopStubSim(pidFile string) {
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
	_ = os.Remove(pidFile)
}

// initContainerArgs are the init containers' command lines in the
// StatefulSet, for pod banyandb-0, in order.
func initContainerArgs(t *testing.T) []string {
	t.Helper()
	m := loadManifests(t)
	ss := m.statefulSets["banyandb"]
	var lines []string
	for _, c := range ss.Spec.Template.Spec.InitContainers {
		lines = append(lines, strings.Join(expandEnv(c.Args, "banyandb-0"), " "))
	}
	return lines
}

// writeStubs writes the stand-ins for banyan-backup's installed path,
// systemctl and kubectl.
func writeStubs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binary, filepath.Join(dir, "banyan-backup")); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"systemctl": systemctlStub, "kubectl": kubectlStub, "sim-ctl": simCtl} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// simCtl stops or starts the simulator on $ROOT at $NODE.
const simCtl = `#!/usr/bin/env bash
set -euo pipefail
case $1 in
stop)
	[ -f "$SIM_PID" ] || exit 0
	pid=$(cat "$SIM_PID")
	kill -INT "$pid" 2>/dev/null || true
	for _ in $(seq 600); do
		state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
		if [ "$state" = gone ] || [ "$state" = Z ]; then rm -f "$SIM_PID"; exit 0; fi
		sleep 0.1
	done
	echo "banyand-sim $pid did not stop" >&2; exit 1 ;;
start)
	# shellcheck disable=SC2086
	"$SIM_BIN" --root "$ROOT" --grpc-addr "$NODE" --http-addr 127.0.0.1:0 $SIM_ARGS >"$SIM_OUT" 2>&1 &
	echo $! >"$SIM_PID"
	for _ in $(seq 1200); do grep -q '^ready' "$SIM_OUT" 2>/dev/null && exit 0; sleep 0.1; done
	cat "$SIM_OUT" >&2; echo "banyand-sim did not start" >&2; exit 1 ;;
esac
`

const systemctlStub = `#!/usr/bin/env bash
# Stand-in for systemctl in deploy/runbooks_test.go.
set -euo pipefail
echo "[systemctl $*]"
case "$2" in
banyandb | banyandb.service) exec sim-ctl "$1" ;;
banyan-backup-serve | banyan-backup-serve.service) exit 0 ;; # serve is tested elsewhere
*) echo "systemctl stand-in: unknown unit $2" >&2; exit 1 ;;
esac
`

const kubectlStub = `#!/usr/bin/env bash
# Stand-in for kubectl in deploy/runbooks_test.go: pod banyandb-0 of
# deploy/kubernetes/statefulset.yaml, its volume at $VOLUME.
set -euo pipefail
echo "[kubectl $*]"
topod() { sed -e "s#/data/#$VOLUME/#g" -e "s#=/data\$#=$VOLUME#" -e "s#=/cache#=$WORK/cache#"; }
case "$1 $2" in
"delete pvc")
	[ "$3" = data-banyandb-0 ] || { echo "unknown claim $3" >&2; exit 1; }
	touch "$WORK/pvc-deleted" ;;
"delete pod")
	[ "$3" = banyandb-0 ] || { echo "unknown pod $3" >&2; exit 1; }
	sim-ctl stop
	if [ -f "$WORK/pvc-deleted" ]; then rm -rf "$VOLUME"; mkdir -p "$VOLUME"; rm "$WORK/pvc-deleted"; fi
	# The init containers, in order; the last one's log is the restore's.
	while read -r line; do
		# shellcheck disable=SC2046
		banyan-backup $(echo "$line" | topod) >"$WORK/restore.log" 2>&1 || { cat "$WORK/restore.log" >&2; exit 1; }
	done < <(printf '%b\n' "$INIT_CMDS")
	sim-ctl start ;;
"logs banyandb-0")
	[ "$3 $4" = "-c restore" ] || { echo "unknown container $*" >&2; exit 1; }
	cat "$WORK/restore.log" ;;
"exec banyandb-0")
	shift 2
	[ "$1 $2 $3" = "-c backup --" ] || { echo "want exec banyandb-0 -c backup -- ..., got $*" >&2; exit 1; }
	shift 3
	args=()
	for a in "$@"; do args+=("$(echo "$a" | topod)"); done
	exec "${args[@]}" ;;
*) echo "kubectl stand-in: unknown command $*" >&2; exit 1 ;;
esac
`
