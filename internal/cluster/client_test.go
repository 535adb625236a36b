package cluster_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/cluster"
)

// An agent that accepts the connection and never answers (a link cut
// after the handshake looks the same to the caller) fails the call once
// the call timeout has passed, with the node named: the coordinator never
// waits for ever.
func TestCallTimeoutBoundsASilentAgent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	c := cluster.NewClient(cluster.ClientOptions{Token: testToken, CallTimeout: 200 * time.Millisecond})
	defer c.Close()
	node := cluster.Node{Address: "10.0.0.2:17912", Agent: "http://" + ln.Addr().String()}
	done := make(chan error, 1)
	go func() {
		_, err := c.Prepare(context.Background(), node, agentPrepare())
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		t.Fatal("a call to a silent agent did not end")
	}
	var ce *cluster.CallError
	if !errors.As(err, &ce) || ce.Node != node.Address || ce.Status != 0 || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call to a silent agent: %v", err)
	}
	// A context deadline sooner than the call timeout bounds it too.
	slow := cluster.NewClient(cluster.ClientOptions{Token: testToken, CallTimeout: time.Hour})
	defer slow.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := slow.Abort(ctx, node, strings.Repeat("0", 32), 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("call under a context deadline: %v", err)
	}
}

func agentPrepare() agent.PrepareRequest {
	return agent.PrepareRequest{Operation: strings.Repeat("ab", 16), Repository: "main"}
}

// An agent refusing the coordinator's token fails the call with
// ErrAgentAuth, naming the node.
func TestWrongTokenIsErrAgentAuth(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(testToken), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(context.Background(), agent.Options{TokenFile: tokenFile, Role: agent.RoleLiaison,
		NodeName: "10.0.0.9:18912", StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(a.Handler())
	defer hs.Close()
	c := cluster.NewClient(cluster.ClientOptions{Token: strings.Repeat("w", len(testToken))})
	defer c.Close()
	node := cluster.Node{Address: "10.0.0.9:18912", Agent: hs.URL}
	_, err = c.Prepare(context.Background(), node, agentPrepare())
	var ce *cluster.CallError
	if !errors.Is(err, cluster.ErrAgentAuth) || !errors.As(err, &ce) || ce.Status != http.StatusUnauthorized || !strings.Contains(err.Error(), node.Address) {
		t.Errorf("prepare with a wrong token: %v", err)
	}
}
