package sim

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
)

// snapshotCount returns the number of snapshots of catalog c on disk.
func snapshotCount(t *testing.T, root, c string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(root, c, "snapshots"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestErrorCatalog(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *Config) { c.Faults.ErrorCatalog = "schema-property" })
	ctx := context.Background()
	client := grpcClient(t, s)

	resp, err := client.Snapshot(ctx, &databasev1.SnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if sn := resp.Snapshots[0]; sn.Error == "" || sn.Name != "" {
		t.Errorf("schema snapshot %v, want an error and no name", sn)
	}
	if n := snapshotCount(t, s.Root(), "schema-property"); n != 0 {
		t.Errorf("failed schema snapshot left %d directories", n)
	}

	setFaultsHTTP(t, s, `{"error_catalog":"CATALOG_MEASURE, trace"}`)
	resp, err = client.Snapshot(ctx, &databasev1.SnapshotRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range resp.Snapshots {
		failed := sn.Catalog.String() == "CATALOG_MEASURE" || sn.Catalog.String() == "CATALOG_TRACE"
		if failed != (sn.Error != "") || failed != (sn.Name == "") {
			t.Errorf("snapshot %v: want an error exactly for measure and trace", sn)
		}
	}
	for c, want := range map[string]int{"measure": 1, "trace": 1, "stream": 2, "property": 2, "schema-property": 1} {
		if n := snapshotCount(t, s.Root(), c); n != want {
			t.Errorf("%s: %d snapshots, want %d", c, n, want)
		}
	}
	if code, body := httpDo(t, s, http.MethodPost, "/sim/faults", `{"error_catalog":"nope"}`); code != http.StatusBadRequest {
		t.Errorf("bad catalog: %d %s", code, body)
	}
	if code, body := httpDo(t, s, http.MethodGet, "/sim/faults", ""); code != http.StatusOK || !strings.Contains(body, `"error_catalog":"CATALOG_MEASURE, trace"`) {
		t.Errorf("GET /sim/faults: %d %s", code, body)
	}
}

func TestDropConnectionGRPC(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *Config) { c.Faults.DropConnection = true })
	client := grpcClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := client.Snapshot(ctx, &databasev1.SnapshotRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("dropped call: %v, want Unavailable", err)
	}
	if n := snapshotCount(t, s.Root(), "measure"); n != 0 {
		t.Errorf("dropped call made %d snapshots", n)
	}
	if err := s.SetFaults(Faults{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Snapshot(ctx, &databasev1.SnapshotRequest{}); err != nil {
		t.Fatalf("after the fault is cleared: %v", err)
	}
}

func TestDropConnectionHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil)
	setFaultsHTTP(t, s, `{"drop_connection":true}`)
	for _, method := range []string{http.MethodPost, http.MethodGet} {
		if code, body, err := httpTry(s, method, "/api/v1/snapshot", "{}"); err == nil {
			t.Errorf("%s with drop_connection answered %d %s, want a connection error", method, code, body)
		}
	}
	if n := snapshotCount(t, s.Root(), "measure"); n != 0 {
		t.Errorf("dropped calls made %d snapshots", n)
	}
	if st := statsOf(t, s); st.SnapshotCalls != 2 || st.SnapshotsTaken != 0 {
		t.Errorf("stats %+v, want 2 calls and no snapshot", st)
	}
}

func TestDropAfterSnapshot(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *Config) { c.Faults.DropAfterSnapshot = true })
	if _, err := grpcClient(t, s).Snapshot(context.Background(), &databasev1.SnapshotRequest{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("gRPC: %v, want Unavailable", err)
	}
	if _, _, err := httpTry(s, http.MethodPost, "/api/v1/snapshot", "{}"); err == nil {
		t.Fatal("HTTP answered, want a connection error")
	}
	for _, c := range []string{"measure", "stream", "trace", "property", "schema-property"} {
		if n := snapshotCount(t, s.Root(), c); n != 2 {
			t.Errorf("%s: %d snapshots left behind, want 2", c, n)
		}
	}
}

func TestSlowSnapshot(t *testing.T) {
	t.Parallel()
	s := startServer(t, func(c *Config) { c.Faults.SlowSnapshot = Duration(400 * time.Millisecond) })
	client := grpcClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := client.Snapshot(ctx, &databasev1.SnapshotRequest{}); status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("slow call: %v, want DeadlineExceeded", err)
	}
	// Like a real server, it finishes the snapshot after the caller left.
	deadline := time.Now().Add(10 * time.Second)
	for snapshotCount(t, s.Root(), "trace") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no snapshot after the slow call")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStopCutsSlowSnapshot(t *testing.T) {
	t.Parallel()
	cfg := testConfig(newTestRoot(t))
	cfg.Faults.SlowSnapshot = Duration(time.Hour)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := s.Snapshot(context.Background(), &databasev1.SnapshotRequest{})
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Stop took %v", d)
	}
	if err := <-errc; !errors.Is(err, ErrStopping) {
		t.Errorf("cut snapshot: %v, want ErrStopping", err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestDurationJSON(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]time.Duration{`"1.5s"`: 1500 * time.Millisecond, `250000000`: 250 * time.Millisecond} {
		var d Duration
		if err := d.UnmarshalJSON([]byte(in)); err != nil || time.Duration(d) != want {
			t.Errorf("%s: %v, %v", in, time.Duration(d), err)
		}
	}
	var d Duration
	if err := d.UnmarshalJSON([]byte(`"soon"`)); err == nil {
		t.Error("bad duration accepted")
	}
	if b, _ := Duration(2 * time.Second).MarshalJSON(); string(b) != `"2s"` {
		t.Errorf("marshal: %s", b)
	}
}
