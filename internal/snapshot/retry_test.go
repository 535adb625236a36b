package snapshot

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// freeAddr returns an address of 127.0.0.1 that nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestDialRetriesANodeThatComesUp: a node that starts while Dial waits to
// try again is reached; without retries, Dial fails at once.
func TestDialRetriesANodeThatComesUp(t *testing.T) {
	addr := freeAddr(t)
	opts := Options{Node: addr, ConnectTimeout: time.Second, CallTimeout: 10 * time.Second}
	if _, err := Dial(context.Background(), opts); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("no node, no retries: %v, want unreachable", err)
	}

	cfg := sim.DefaultConfig(filepath.Join(fixture.ForTest(t, fixture.V011), "data"))
	cfg.GRPCAddr, cfg.HTTPAddr = addr, "127.0.0.1:0"
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan error, 1)
	go func() {
		time.Sleep(1500 * time.Millisecond) // the node restarts
		started <- srv.Start(context.Background())
	}()
	t.Cleanup(func() { srv.Stop(context.Background()) })
	opts.Retries, opts.RetryWait = 8, 200*time.Millisecond
	c, err := Dial(context.Background(), opts)
	if err != nil {
		t.Fatalf("a node that came up after 1.5 s, 8 retries from 200 ms: %v", err)
	}
	defer c.Close()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	if _, err := c.APIVersion(context.Background()); err != nil {
		t.Errorf("after the retried dial: %v", err)
	}
}

// TestDialGivesUpAfterItsRetries: the error says how many tries were made.
func TestDialGivesUpAfterItsRetries(t *testing.T) {
	addr := freeAddr(t)
	_, err := Dial(context.Background(), Options{Node: addr, ConnectTimeout: time.Second, Retries: 2, RetryWait: 10 * time.Millisecond})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "after 3 tries") || !strings.Contains(err.Error(), addr) {
		t.Errorf("Dial of a node that stays down: %v; want unreachable, naming %s and 3 tries", err, addr)
	}
}
