package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// fixtureTop is the 0.11 fixture, extracted once by TestMain (decoding it
// under the race detector takes a second).
var fixtureTop string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests extracts the fixture, runs the tests and removes the fixture.
func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "sim-test-fixture-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	archive, err := fixture.Path(fixture.V011)
	if err == nil {
		fixtureTop, err = fixture.Extract(archive, dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// newTestRoot returns a fresh root seeded with the 0.11 fixture's data.
func newTestRoot(t *testing.T) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := SeedFromFixture(context.Background(), fixtureTop, root); err != nil {
		t.Fatal(err)
	}
	return root
}

// testConfig is the configuration tests start from: free ports, small
// parts, a fixed seed, no background workload.
func testConfig(root string) Config {
	cfg := DefaultConfig(root)
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Workload.PartSize = 2048
	cfg.Workload.Seed = 1
	return cfg
}

// startServer starts a simulator on a seeded root, changed by mod, and stops
// it when the test ends.
func startServer(t *testing.T, mod func(*Config)) *Server {
	t.Helper()
	cfg := testConfig(newTestRoot(t))
	if mod != nil {
		mod(&cfg)
	}
	return startWith(t, cfg)
}

// startWith starts a simulator with cfg and stops it when the test ends.
func startWith(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Error(err)
		}
	})
	return s
}

// grpcClient connects to the simulator's gRPC port.
func grpcClient(t *testing.T, s *Server) databasev1.SnapshotServiceClient {
	t.Helper()
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return databasev1.NewSnapshotServiceClient(conn)
}

// grpcConn connects to the simulator's gRPC port.
func grpcConn(t *testing.T, s *Server) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(s.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// httpDo sends a request to the simulator's HTTP port and returns the status
// and body; a transport error fails the test.
func httpDo(t *testing.T, s *Server, method, path, body string) (int, string) {
	t.Helper()
	code, b, err := httpTry(s, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return code, b
}

// httpTry is httpDo returning the transport error.
func httpTry(s *Server, method, path, body string) (int, string, error) {
	req, err := http.NewRequest(method, "http://"+s.HTTPAddr()+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// setFaultsHTTP switches faults through POST /sim/faults.
func setFaultsHTTP(t *testing.T, s *Server, faults string) {
	t.Helper()
	code, body := httpDo(t, s, http.MethodPost, "/sim/faults", faults)
	if code != http.StatusOK {
		t.Fatalf("POST /sim/faults %s: %d %s", faults, code, body)
	}
}

// inode returns the inode and link count of path, skipping the test on a
// platform without inode numbers.
func inode(t *testing.T, path string) (ino, nlink uint64) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino, _, nlink = banyandb.StatIDs(fi)
	if ino == 0 {
		t.Skip("no inode numbers on this platform")
	}
	return ino, nlink
}

// sameContent fails the test unless a and b hold the same bytes.
func sameContent(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Errorf("%s and %s differ", a, b)
	}
}

// readSnpFile parses a shard .snp file.
func readSnpFile(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := banyandb.ParseSnp(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	sort.Strings(parts)
	return parts
}

// listNames returns the sorted names in dir matching keep.
func listNames(t *testing.T, dir string, keep func(fs.DirEntry) bool) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if keep(e) {
			out = append(out, e.Name())
		}
	}
	sort.Strings(out)
	return out
}

// partDirsIn lists the part directories of a shard.
func partDirsIn(t *testing.T, dir string) []string {
	return listNames(t, dir, func(e fs.DirEntry) bool { return e.IsDir() && banyandb.IsPartName(e.Name()) })
}

// snpFilesIn lists the part lists of a shard.
func snpFilesIn(t *testing.T, dir string) []string {
	return listNames(t, dir, func(e fs.DirEntry) bool { _, ok := banyandb.SnpEpoch(e.Name()); return ok })
}

// statsOf reads GET /sim/stats.
func statsOf(t *testing.T, s *Server) Stats {
	t.Helper()
	code, body := httpDo(t, s, http.MethodGet, "/sim/stats", "")
	if code != http.StatusOK {
		t.Fatalf("GET /sim/stats: %d %s", code, body)
	}
	var st Stats
	if err := json.Unmarshal([]byte(body), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// scanAs scans dir as the data directory of catalog c with the layout
// model, through a symbolic link (Scan follows a data directory that is a
// link), and returns the layout.
func scanAs(t *testing.T, c banyandb.Catalog, dir string) *banyandb.Layout {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, string(c)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(root, string(c), "data")); err != nil {
		t.Fatal(err)
	}
	l, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: root},
		banyandb.ScanOptions{Catalogs: []banyandb.Catalog{c}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return l
}
