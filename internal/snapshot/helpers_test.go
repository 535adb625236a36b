package snapshot

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// startSim starts a simulated node on a fresh copy of the 0.11 fixture,
// listening on free ports of 127.0.0.1, and stops it when the test ends.
func startSim(t *testing.T) (*sim.Server, banyandb.Roots) {
	t.Helper()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	cfg := sim.DefaultConfig(root)
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("cannot stop simulator: %v", err)
		}
	})
	return srv, banyandb.Roots{Root: root}
}

// dial connects to node with short timeouts and closes the client when the
// test ends.
func dial(t *testing.T, opts Options) Client {
	t.Helper()
	if opts.ConnectTimeout == 0 {
		opts.ConnectTimeout = 2 * time.Second
	}
	if opts.CallTimeout == 0 {
		opts.CallTimeout = 10 * time.Second
	}
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// setFaults switches the simulator's faults, and back off when the test
// ends.
func setFaults(t *testing.T, srv *sim.Server, f sim.Faults) {
	t.Helper()
	if err := srv.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.SetFaults(sim.Faults{}) })
}

// deadAddr returns an address of 127.0.0.1 on which nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// byCatalog indexes taken by catalog, failing on duplicates.
func byCatalog(t *testing.T, taken []Taken) map[banyandb.Catalog]Taken {
	t.Helper()
	out := map[banyandb.Catalog]Taken{}
	for _, tk := range taken {
		if _, dup := out[tk.Catalog]; dup {
			t.Fatalf("two answers for %s in %+v", tk.Catalog, taken)
		}
		out[tk.Catalog] = tk
	}
	return out
}
