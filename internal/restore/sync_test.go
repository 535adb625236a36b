package restore

import (
	"os"
	"path/filepath"
	"testing"
)

// syncTree is what syncFS does outside Linux; it runs here too.
func TestSyncTree(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a/b/data", "a/meta", "top"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("top", filepath.Join(dir, "link")); err != nil {
		t.Logf("no symlink in the tree: %v", err) // Windows without the privilege
	}
	if err := syncTree(dir); err != nil {
		t.Fatalf("syncTree: %v", err)
	}
	if err := syncTree(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("syncTree of a missing directory: no error")
	}
}
