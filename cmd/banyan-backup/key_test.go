package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// TestEncryptedRepositoryCommands: an encrypted repository refuses a
// missing password (exit 2, saying what to give) and a wrong one (exit 12),
// a plain one refuses a password (exit 2); key add, list, passwd and remove
// change which passwords and key files open it.
func TestEncryptedRepositoryCommands(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first, second, wrong := write("first", "first password\n"), write("second", "second password"), write("wrong", "guess")
	keyFile := write("keyfile", strings.Repeat("0123456789abcdef", 4))
	kdf := []string{"--kdf-memory", "8", "--kdf-time", "1"}
	repo := filepath.Join(dir, "repo")
	mustRun(t, append([]string{"init", "--repo", repo, "--password-file", first}, kdf...)...)
	root := fixtureRoot(t, fixture.V0102)
	b := backupJSONOf(t, repo, root, "--password-file", first)

	if r := run(t, "list", "--repo", repo); r.code != 2 || !strings.Contains(r.stderr, "--password-file") {
		t.Errorf("no password: exit %d, %q; want 2 saying how to give one", r.code, r.stderr)
	}
	if r := run(t, "list", "--repo", repo, "--password-file", wrong); r.code != 12 || !strings.Contains(r.stderr, "wrong password") {
		t.Errorf("wrong password: exit %d, %q; want 12", r.code, r.stderr)
	}
	plain := filepath.Join(dir, "plain")
	mustRun(t, "init", "--repo", plain)
	if r := run(t, "list", "--repo", plain, "--password-file", first); r.code != 2 || !strings.Contains(r.stderr, "not encrypted") {
		t.Errorf("a password for a plain repository: exit %d, %q; want 2", r.code, r.stderr)
	}

	mustRun(t, append([]string{"key", "add", "--repo", repo, "--password-file", first, "--new-password-file", second}, kdf...)...)
	mustRun(t, "key", "add", "--repo", repo, "--password-file", second, "--new-key-file", keyFile)
	var keys []struct {
		ID      string
		Current bool
		KDF     string
	}
	if err := json.Unmarshal([]byte(mustRun(t, "key", "list", "--repo", repo, "--key-file", keyFile, "--json")), &keys); err != nil || len(keys) != 3 {
		t.Fatalf("key list: %+v, %v; want 3 keys", keys, err)
	}
	mustRun(t, append([]string{"key", "passwd", "--repo", repo, "--password-file", first, "--new-password-file", wrong}, kdf...)...)
	if r := run(t, "list", "--repo", repo, "--password-file", first); r.code != 12 {
		t.Errorf("the changed password still opens: exit %d", r.code)
	}
	var keyFileKey string
	for _, k := range keys {
		if k.Current != (k.KDF == "keyfile") {
			t.Errorf("key list with the key file: key %s (%s) current %v", k.ID, k.KDF, k.Current)
		}
		if k.KDF == "keyfile" {
			keyFileKey = k.ID
		}
	}
	if r := run(t, "key", "remove", keyFileKey[:8], "--repo", repo, "--key-file", keyFile); r.code == 0 {
		t.Error("the key in use was removed")
	}
	mustRun(t, "key", "remove", keyFileKey[:8], "--repo", repo, "--password-file", second)
	target := filepath.Join(dir, "restored")
	mustRun(t, "restore", b.ID, "--repo", repo, "--target", target, "--password-file", wrong)
	compareTrees(t, root, target)
}
