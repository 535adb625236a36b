package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// runEnv runs the CLI with extra environment variables.
func runEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache")), env...)
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return so.String(), se.String(), code
}

// TestFlagsFromEnvironment: every flag can come from BANYAN_BACKUP_*; the
// command line wins; a bad value names the variable.
func TestFlagsFromEnvironment(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	env := []string{"BANYAN_BACKUP_REPO=" + repo, "BANYAN_BACKUP_TAG=nightly,prod", "BANYAN_BACKUP_HOST=from-env",
		"BANYAN_BACKUP_JSON=true", "BANYAN_BACKUP_ROOT=" + root}
	if _, se, code := runEnv(t, env, "init"); code != 0 {
		t.Fatalf("init from the environment: exit %d: %s", code, se)
	}
	if _, se, code := runEnv(t, env, "backup", "--host", "from-flag"); code != 0 {
		t.Fatalf("backup from the environment: exit %d: %s", code, se)
	}
	so, se, code := runEnv(t, env, "list")
	var list []struct {
		Hostname string
		Tags     []string
	}
	if code != 0 || json.Unmarshal([]byte(so), &list) != nil || len(list) != 1 {
		t.Fatalf("list with BANYAN_BACKUP_JSON=true: exit %d, %q, %s", code, so, se)
	}
	if list[0].Hostname != "from-flag" || strings.Join(list[0].Tags, ",") != "nightly,prod" {
		t.Errorf("backup: host %q, tags %v; want the flag's host and the environment's tags", list[0].Hostname, list[0].Tags)
	}
	_, se, code = runEnv(t, append(env, "BANYAN_BACKUP_CONCURRENCY=many"), "backup")
	if code != 2 || !strings.Contains(se, "BANYAN_BACKUP_CONCURRENCY") {
		t.Errorf("a bad value in the environment: exit %d, %q; want 2 naming the variable", code, se)
	}
}

// TestServerRootFlagsAndEnvironment: backup takes the node's roots from the
// server's own flags and BYDB_* variables, a moved measure data directory
// included, and backs up the same files as with --root.
func TestServerRootFlagsAndEnvironment(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	want := backupJSONOf(t, repo, root).Files

	moved := filepath.Join(t.TempDir(), "measure-data")
	if err := os.Rename(filepath.Join(root, "measure", "data"), moved); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, v := range []string{"STREAM", "TRACE", "PROPERTY", "SCHEMA_SERVER"} {
		env = append(env, "BYDB_"+v+"_ROOT_PATH="+root)
	}
	so, se, code := runEnv(t, append(env, "BYDB_MEASURE_DATA_PATH="+moved), "backup", "--repo", repo, "--measure-root-path", root, "--json")
	var got backupOut
	if code != 0 || json.Unmarshal([]byte(so), &got) != nil || got.Files != want {
		t.Errorf("backup from the server's flags and environment: exit %d, %d files (want %d)\n%s", code, got.Files, want, se)
	}
}
