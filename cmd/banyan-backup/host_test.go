package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// runAsRunner runs the CLI on a machine named runner that resolves the
// node's name through hosts: in a UTS and mount namespace of its own
// (unshare), with the hostname set and hosts bound over /etc/hosts, as a
// Kubernetes CronJob pod runs it (a new hostname every run, the node
// reached by its DNS name).
func runAsRunner(t *testing.T, runner, hosts string, args ...string) string {
	t.Helper()
	script := `mount --bind "$1" /etc/hosts && hostname "$2" && shift 2 && exec "$@"`
	cmd := exec.Command("unshare", append([]string{"--uts", "--mount", "sh", "-c", script, "sh", hosts, runner, binary}, args...)...)
	cmd.Env = append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache"))
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("banyan-backup %s as %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), runner, err, so.String(), se.String())
	}
	return so.String()
}

// needNamespaces skips where unshare cannot make namespaces (not root),
// except in CI, which runs as root and must run the test.
func needNamespaces(t *testing.T) {
	t.Helper()
	if err := exec.Command("unshare", "--uts", "--mount", "true").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot make namespaces with unshare (CI runs as root): %v", err)
		}
		t.Skipf("cannot make namespaces with unshare (run as root): %v", err)
	}
}

// TestRetentionGroupsBackupsByNode: two live backups of one node, made
// from two machines with different hostnames (two CronJob pods), one
// through gRPC and one through HTTP, form one retention group named after
// the node; list shows the node and the runners.
func TestRetentionGroupsBackupsByNode(t *testing.T) {
	needNamespaces(t)
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, true)
	hosts := filepath.Join(t.TempDir(), "hosts")
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n127.0.0.1 banyandb-data-0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := func(addr string) string { return addr[strings.LastIndexByte(addr, ':'):] }
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	runAsRunner(t, "backup-28901234-abcde", hosts, "backup", "--repo", repo, "--root", root, "--node", "banyandb-data-0"+port(srv.GRPCAddr()), "--json")
	runAsRunner(t, "backup-28901294-fghij", hosts, "backup", "--repo", repo, "--root", root, "--node", "http://banyandb-data-0"+port(srv.HTTPAddr()), "--json")

	var list []struct{ Hostname, Runner string }
	if err := json.Unmarshal([]byte(mustRun(t, "list", "--repo", repo, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Hostname != "banyandb-data-0" || list[1].Hostname != "banyandb-data-0" ||
		list[0].Runner != "backup-28901234-abcde" || list[1].Runner != "backup-28901294-fghij" {
		t.Errorf("list: %+v; want both of node banyandb-data-0, each with its runner", list)
	}
	out := forgetJSONOf(t, "--repo", repo, "--keep-last", "1", "--dry-run")
	if len(out.Groups) != 1 || out.Groups[0].Host != "banyandb-data-0" || len(out.Groups[0].Keep) != 1 || len(out.Groups[0].Remove) != 1 {
		t.Errorf("forget groups %+v; want one group, of banyandb-data-0, keeping one and removing one", out.Groups)
	}

	// --host names the node whatever the runner and the address.
	other := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", other)
	runAsRunner(t, "runner-a", hosts, "backup", "--repo", other, "--root", root, "--node", srv.GRPCAddr(), "--host", "data-0")
	runAsRunner(t, "runner-b", hosts, "backup", "--repo", other, "--root", root, "--node", "http://"+srv.HTTPAddr(), "--host", "data-0")
	out = forgetJSONOf(t, "--repo", other, "--keep-last", "1", "--dry-run")
	if len(out.Groups) != 1 || out.Groups[0].Host != "data-0" {
		t.Errorf("forget groups %+v; want one group, of data-0", out.Groups)
	}
}
