package testnet_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/testnet"
)

// The test binary doubles as the processes on the hosts: with
// TESTNET_SERVE=addr it serves its host's name, with TESTNET_GET=url it
// prints what the URL answers.
func TestMain(m *testing.M) {
	if addr := os.Getenv("TESTNET_SERVE"); addr != "" {
		serve(addr)
		return
	}
	if url := os.Getenv("TESTNET_GET"); url != "" {
		body, err := get(url, 10*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Print(body)
		return
	}
	os.Exit(m.Run())
}

func serve(addr string) {
	name, _ := os.Hostname()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "hello from ", name)
	}))
}

func get(url string, timeout time.Duration) (string, error) {
	c := http.Client{Timeout: timeout}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestHostsTalkAndACutLinkHangs starts a server on one host and reaches it
// from the test's namespace and from another host; with the link cut a
// request times out (it is not refused), and once mended it answers again.
func TestHostsTalkAndACutLinkHangs(t *testing.T) {
	n := testnet.New(t)
	srv, cli := n.AddHost(), n.AddHost()
	addr := srv.IP + ":18080"
	ctx, cancel := context.WithCancel(t.Context())
	cmd := srv.Command(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "TESTNET_SERVE="+addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})
	url := "http://" + addr + "/"
	waitAnswer(t, url)

	c := cli.Command(t.Context(), os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "TESTNET_GET="+url)
	if out, err := c.Output(); err != nil || !strings.HasPrefix(string(out), "hello from") {
		t.Fatalf("from the other host: %q, %v", out, err)
	}

	srv.Cut()
	start := time.Now()
	_, err := get(url, 2*time.Second)
	var ne net.Error
	if err == nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("with the link cut: %v, want a timeout", err)
	}
	if time.Since(start) < 2*time.Second {
		t.Fatalf("with the link cut the request failed after %v, before its timeout: refused, not cut", time.Since(start))
	}
	srv.Mend()
	waitAnswer(t, url)
}

func waitAnswer(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := get(url, 2*time.Second)
		if err == nil && strings.HasPrefix(body, "hello from") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer from %s: %q, %v", url, body, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
