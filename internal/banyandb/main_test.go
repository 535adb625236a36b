package banyandb_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// shared holds read-only extractions of the fixtures, made once for the
// tests that do not change the tree.
var shared struct {
	dir  string
	mu   sync.Mutex
	tops map[string]string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "banyandb-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared.dir = dir
	shared.tops = map[string]string{}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// readOnlyFixture returns the top directory of fixture name, extracted once
// per test binary. Tests must not change it; those that do use
// fixture.ForTest.
func readOnlyFixture(t *testing.T, name string) string {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if top, ok := shared.tops[name]; ok {
		return top
	}
	archive, err := fixture.Path(name)
	if err != nil {
		t.Fatal(err)
	}
	dest, err := os.MkdirTemp(shared.dir, "fixture-")
	if err != nil {
		t.Fatal(err)
	}
	top, err := fixture.Extract(archive, dest)
	if err != nil {
		t.Fatal(err)
	}
	shared.tops[name] = top
	return top
}
