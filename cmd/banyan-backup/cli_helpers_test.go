package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// binary is the banyan-backup executable built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "bb-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "banyan-backup")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot build banyan-backup: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs the CLI and returns its output and exit code.
func run(t *testing.T, args ...string) result {
	t.Helper()
	return runVia(t, nil, args...)
}

// runVia runs the CLI under the command line prefix (such as `unshare
// …`; none: directly) and returns its output and exit code.
func runVia(t *testing.T, prefix []string, args ...string) result {
	t.Helper()
	argv := append(append(slices.Clone(prefix), binary), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache"))
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("cannot run %v: %v", args, err)
	}
	return result{so.String(), se.String(), code}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := run(t, args...)
	if r.code != 0 {
		t.Fatalf("banyan-backup %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

type backupOut struct {
	ID             string  `json:"id"`
	ShortID        string  `json:"short_id"`
	Files          int64   `json:"files"`
	FilesRead      int64   `json:"files_read"`
	FilesUnchanged int64   `json:"files_unchanged"`
	BytesTotal     int64   `json:"bytes_total"`
	BytesRead      int64   `json:"bytes_read"`
	BytesAdded     int64   `json:"bytes_added"`
	Duration       float64 `json:"duration_seconds"`
	SnapshotSecs   float64 `json:"snapshot_seconds"`
	PacksRecovered int     `json:"packs_recovered"`
	BytesRecovered int64   `json:"bytes_recovered"`
}

func backupJSONOf(t *testing.T, repo, root string, extra ...string) backupOut {
	t.Helper()
	args := append([]string{"backup", "--repo", repo, "--root", root, "--json"}, extra...)
	var out backupOut
	if err := json.Unmarshal([]byte(mustRun(t, args...)), &out); err != nil {
		t.Fatalf("backup --json printed no JSON: %v", err)
	}
	return out
}

// fixtureRoot extracts a fixture and returns its data root.
func fixtureRoot(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(fixture.ForTest(t, name), "data")
}

// dirSize is the total size of the files below dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// entry is what a tree comparison looks at for one path.
type entry struct {
	dir   bool
	mode  fs.FileMode
	mtime int64
	sum   string
}

var catalogs = []string{"measure", "stream", "trace", "property", "schema-property"}

// listDataTrees lists every catalog's data/ tree below root, leaving out
// what a backup excludes: lock, bluge.pid, *.tmp and files inside
// external-segment-temp/.
func listDataTrees(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	for _, c := range catalogs {
		base := filepath.Join(root, c, "data")
		if _, err := os.Stat(base); err != nil {
			continue
		}
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			name := d.Name()
			if !d.IsDir() && (name == "lock" || name == "bluge.pid" || strings.HasSuffix(name, ".tmp") || strings.Contains(rel, "external-segment-temp/")) {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			e := entry{dir: d.IsDir(), mode: info.Mode()}
			if !d.IsDir() {
				data, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				s := sha256.Sum256(data)
				e.sum, e.mtime = hex.EncodeToString(s[:]), info.ModTime().UnixNano()
			}
			out[rel] = e
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// compareTrees fails unless the data trees of both roots hold the same
// directories and the same files with the same bytes, modes and mtimes.
func compareTrees(t *testing.T, src, dst string) {
	t.Helper()
	a, b := listDataTrees(t, src), listDataTrees(t, dst)
	if len(a) == 0 {
		t.Fatalf("no data trees under %s", src)
	}
	for p, ea := range a {
		eb, ok := b[p]
		switch {
		case !ok:
			t.Errorf("%s: missing from the restore", p)
		case ea != eb:
			t.Errorf("%s: differs: source %+v, restored %+v", p, ea, eb)
		}
	}
	for p := range b {
		if _, ok := a[p]; !ok {
			t.Errorf("%s: restored but not in the source", p)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a process writing while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSim starts the node simulator on root, on random ports, with a
// steady write workload unless quiet, and stops it when the test ends.
func startSim(t *testing.T, root string, quiet bool) *sim.Server {
	t.Helper()
	cfg := sim.DefaultConfig(root)
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	if !quiet {
		cfg.Workload.FlushInterval, cfg.Workload.MergeEvery = 20*time.Millisecond, 4
	}
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop(context.Background()) })
	return srv
}
