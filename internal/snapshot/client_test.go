package snapshot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// TestSimulator runs the client against one simulated node, over both
// APIs.
func TestSimulator(t *testing.T) {
	srv, roots := startSim(t)
	apis := []struct {
		name string
		node string
	}{
		{"grpc", srv.GRPCAddr()},
		{"grpc-scheme", "grpc://" + srv.GRPCAddr()},
		{"http", "http://" + srv.HTTPAddr()},
	}
	for _, api := range apis {
		t.Run(api.name, func(t *testing.T) {
			c := dial(t, Options{Node: api.node})

			t.Run("version", func(t *testing.T) {
				v, err := c.APIVersion(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if want := (Version{Version: sim.DefaultAPIVersion, Revision: sim.DefaultAPIRevision}); v != want {
					t.Errorf("APIVersion = %+v, want %+v", v, want)
				}
			})

			t.Run("everything", func(t *testing.T) {
				taken, err := c.Snapshot(context.Background(), nil)
				if err != nil {
					t.Fatal(err)
				}
				checkAllCatalogs(t, roots, taken)
				if err := Remove(roots, taken); err != nil {
					t.Fatal(err)
				}
				for _, tk := range taken {
					if _, err := os.Stat(SnapshotDir(roots, tk)); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s snapshot still there after Remove: %v", tk.Catalog, err)
					}
				}
			})

			t.Run("groups", func(t *testing.T) {
				taken, err := c.Snapshot(context.Background(), []Group{
					{Catalog: banyandb.Measure, Name: "bk_measure"},
					{Catalog: banyandb.Property, Name: "bk_prop"},
				})
				if err != nil {
					t.Fatal(err)
				}
				defer Remove(roots, taken)
				got := byCatalog(t, taken)
				for _, want := range []banyandb.Catalog{banyandb.Measure, banyandb.Property, banyandb.SchemaProperty} {
					if tk, ok := got[want]; !ok || tk.Failed() {
						t.Errorf("no good %s snapshot in %+v", want, taken)
					}
				}
				if _, ok := got[banyandb.Stream]; ok {
					t.Errorf("stream snapshot not asked for: %+v", taken)
				}
			})

			t.Run("quirk", func(t *testing.T) {
				taken, err := c.Snapshot(context.Background(), []Group{{Catalog: banyandb.Property, Name: "bk_prop"}})
				if err != nil {
					t.Fatal(err)
				}
				defer Remove(roots, taken)
				if len(taken) != 0 {
					t.Errorf("property-only request answered %+v; the quirk is gone?", taken)
				}
			})

			t.Run("request", func(t *testing.T) { checkRequests(t, c, roots) })

			t.Run("error-catalog", func(t *testing.T) {
				setFaults(t, srv, sim.Faults{ErrorCatalog: "measure,schema-property"})
				taken, err := c.Snapshot(context.Background(), nil)
				if err != nil {
					t.Fatal(err)
				}
				defer Remove(roots, taken)
				got := byCatalog(t, taken)
				for _, cat := range banyandb.AllCatalogs() {
					tk, ok := got[cat]
					failing := cat == banyandb.Measure || cat == banyandb.SchemaProperty
					switch {
					case !ok:
						t.Errorf("no answer for %s in %+v", cat, taken)
					case failing && tk.Error == "":
						t.Errorf("%s: no error in %+v", cat, tk)
					case !failing && tk.Error != "":
						t.Errorf("%s: unexpected error in %+v", cat, tk)
					}
				}
			})

			t.Run("dropped-connection", func(t *testing.T) {
				setFaults(t, srv, sim.Faults{DropConnection: true})
				taken, err := c.Snapshot(context.Background(), nil)
				if err == nil {
					t.Fatalf("Snapshot = %+v, want an error", taken)
				}
				if !strings.Contains(err.Error(), "cannot take snapshot on BanyanDB node") ||
					!strings.Contains(err.Error(), "connection was lost") {
					t.Errorf("error %q does not say what failed", err)
				}
				if err := srv.SetFaults(sim.Faults{}); err != nil {
					t.Fatal(err)
				}
				if _, err := c.APIVersion(context.Background()); err != nil {
					t.Errorf("no recovery after a dropped connection: %v", err)
				}
			})

			t.Run("call-timeout", func(t *testing.T) {
				setFaults(t, srv, sim.Faults{SlowSnapshot: sim.Duration(3 * time.Second)})
				slow := dial(t, Options{Node: api.node, CallTimeout: 300 * time.Millisecond})
				start := time.Now()
				_, err := slow.Snapshot(context.Background(), []Group{{Catalog: banyandb.Measure, Name: "nothing-here"}})
				if !errors.Is(err, ErrCallTimeout) {
					t.Fatalf("Snapshot error = %v, want ErrCallTimeout", err)
				}
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("Snapshot took %v with a call timeout of 300ms", d)
				}
				if !strings.Contains(err.Error(), "no answer within 300ms") {
					t.Errorf("error %q does not give the timeout", err)
				}
			})

			t.Run("cancelled", func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				if _, err := c.Snapshot(ctx, nil); !errors.Is(err, context.Canceled) {
					t.Errorf("Snapshot error = %v, want context.Canceled", err)
				}
			})
		})
	}

	t.Run("wrong-port", func(t *testing.T) {
		for _, opts := range []Options{
			{Node: "grpc://" + srv.HTTPAddr()},
			{Node: "http://" + srv.GRPCAddr()},
			{Node: "grpc://" + srv.GRPCAddr(), TLS: true, InsecureSkipVerify: true},
		} {
			opts.ConnectTimeout = 2 * time.Second
			c, err := Dial(context.Background(), opts)
			if err == nil {
				c.Close()
				t.Errorf("Dial(%+v) succeeded", opts)
				continue
			}
			if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "cannot reach BanyanDB node 127.0.0.1:") {
				t.Errorf("Dial(%+v) error = %v, want an unreachable error", opts, err)
			}
		}
	})
}

// checkAllCatalogs checks that taken has one good snapshot per catalog and
// that Dir points at a directory shaped like the catalog's data dir.
func checkAllCatalogs(t *testing.T, roots banyandb.Roots, taken []Taken) {
	t.Helper()
	got := byCatalog(t, taken)
	shapes := map[banyandb.Catalog]string{
		banyandb.Measure:        "bk_measure/seg-*/shard-*/*",
		banyandb.Stream:         "bk_stream/seg-*/shard-*/*",
		banyandb.Trace:          "bk_trace/seg-*/shard-*/*",
		banyandb.Property:       "bk_prop/shard-0/*",
		banyandb.SchemaProperty: "_schema/shard-0/*",
	}
	for _, cat := range banyandb.AllCatalogs() {
		tk, ok := got[cat]
		if !ok {
			t.Errorf("no %s snapshot in %+v", cat, taken)
			continue
		}
		if tk.Failed() || !ValidName(tk.Name) {
			t.Errorf("bad %s snapshot %+v", cat, tk)
			continue
		}
		dir := Dir(roots, tk)
		matches, err := filepath.Glob(filepath.Join(dir, shapes[cat]))
		if err != nil || len(matches) == 0 {
			t.Errorf("%s: %s does not hold %s (%v)", cat, dir, shapes[cat], err)
		}
		if cat.HasSegments() {
			if dir != SnapshotDir(roots, tk) {
				t.Errorf("%s: Dir %s != SnapshotDir %s", cat, dir, SnapshotDir(roots, tk))
			}
		} else if filepath.Dir(dir) != SnapshotDir(roots, tk) || filepath.Base(dir) != "data" {
			t.Errorf("%s: Dir %s is not SnapshotDir/data", cat, dir)
		}
	}
}

func TestUnreachable(t *testing.T) {
	addr := deadAddr(t)
	tests := []struct {
		name, node, want string
	}{
		{"grpc", addr, "cannot reach BanyanDB node " + addr + " over gRPC: connection refused: is the node running and is this its gRPC port (17912)?"},
		{"http", "http://" + addr, "cannot reach BanyanDB node " + addr + " over HTTP: connection refused: is the node running and is this its HTTP port (17913)?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			c, err := Dial(context.Background(), Options{Node: tt.node, ConnectTimeout: 2 * time.Second})
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded on a dead port")
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Dial took %v with a connect timeout of 2s", d)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			if !errors.Is(err, ErrUnreachable) {
				t.Errorf("error %v does not match ErrUnreachable", err)
			}
		})
	}
}

func TestUnresolvableHost(t *testing.T) {
	for _, node := range []string{"no-such-host.invalid:17912", "http://no-such-host.invalid"} {
		_, err := Dial(context.Background(), Options{Node: node, ConnectTimeout: 2 * time.Second})
		if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "no-such-host.invalid") {
			t.Errorf("Dial(%s) error = %v, want an unreachable error naming the host", node, err)
		}
	}
}

func TestParseNode(t *testing.T) {
	tests := []struct {
		opts    Options
		want    endpoint
		wantErr string
	}{
		{opts: Options{Node: "db:1234"}, want: endpoint{host: "db", addr: "db:1234"}},
		{opts: Options{Node: " db "}, want: endpoint{host: "db", addr: "db:17912"}},
		{opts: Options{Node: "grpc://db", TLS: true}, want: endpoint{tls: true, host: "db", addr: "db:17912"}},
		{opts: Options{Node: "[::1]:9"}, want: endpoint{host: "::1", addr: "[::1]:9"}},
		{opts: Options{Node: "http://db"}, want: endpoint{http: true, host: "db", addr: "db:17913", base: "http://db:17913"}},
		{opts: Options{Node: "HTTPS://db:443/banyan/", CACert: "ca.pem"},
			want: endpoint{http: true, tls: true, host: "db", addr: "db:443", base: "https://db:443/banyan"}},
		{opts: Options{Node: ""}, wantErr: "no address"},
		{opts: Options{Node: "ftp://db"}, wantErr: "unknown scheme"},
		{opts: Options{Node: "db:0"}, wantErr: "bad port"},
		{opts: Options{Node: "db:x"}, wantErr: "db:x"},
		{opts: Options{Node: "grpc://db/x"}, wantErr: "no path"},
		{opts: Options{Node: "http://db", TLS: true}, wantErr: "use https://"},
		{opts: Options{Node: "db", CACert: "ca.pem"}, wantErr: "TLS is off"},
		{opts: Options{Node: "http://u:p@db"}, wantErr: "host[:port] only"},
	}
	for _, tt := range tests {
		got, err := parseNode(tt.opts)
		switch {
		case tt.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseNode(%+v) error = %v, want %q", tt.opts, err, tt.wantErr)
			}
		case err != nil:
			t.Errorf("parseNode(%+v): %v", tt.opts, err)
		case got != tt.want:
			t.Errorf("parseNode(%+v) = %+v, want %+v", tt.opts, got, tt.want)
		}
	}
}
