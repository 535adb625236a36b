package cloudtest

import (
	"net"
	"net/url"
	"sync/atomic"
	"testing"
)

// BlackHole is a TCP proxy to a test server that, once cut, forwards
// nothing either way and answers nothing, but keeps every connection open:
// a link that went silent, not a refused connection.
type BlackHole struct {
	// Endpoint is the server's endpoint through the proxy.
	Endpoint string
	cut      atomic.Bool
	end      chan struct{}
}

// NewBlackHole starts a proxy to the server at endpoint (an http:// URL),
// forwarding until Cut; it stops, closing every connection, when the test
// ends.
func NewBlackHole(t testing.TB, endpoint string) *BlackHole {
	t.Helper()
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatalf("cannot parse the endpoint %q: %v", endpoint, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	u.Host = ln.Addr().String()
	b := &BlackHole{Endpoint: u.String(), end: make(chan struct{})}
	t.Cleanup(func() {
		close(b.end)
		ln.Close()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.serve(c, target)
		}
	}()
	return b
}

// Cut stops forwarding: from now on, whatever either side sends is
// swallowed.
func (b *BlackHole) Cut() { b.cut.Store(true) }

func (b *BlackHole) serve(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go b.pipe(s, c)
	b.pipe(c, s)
}

// pipe copies from src to dst until the hole is cut, then holds both
// open until the test ends.
func (b *BlackHole) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if b.cut.Load() {
			<-b.end
			return
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
