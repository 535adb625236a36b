package idleconn_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage/idleconn"
)

// A peer that stops reading (as behind a cut link): the writer's write
// fails with a timeout instead of waiting for the kernel to give up; a
// peer that never answers fails the reader's read the same way.
func TestIdleConnectionFails(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c // never read, never written
		}
	}()
	dial := idleconn.DialContext(&net.Dialer{}, 200*time.Millisecond)
	w, err := dial(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	buf := make([]byte, 1<<20)
	var werr error
	for range 1000 { // the socket buffers fill, then a write waits
		if _, werr = w.Write(buf); werr != nil {
			break
		}
	}
	var ne net.Error
	if !errors.As(werr, &ne) || !ne.Timeout() {
		t.Errorf("writing to a peer that reads nothing: %v, want a timeout", werr)
	}
	r, err := dial(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Read(buf); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("reading from a peer that sends nothing: %v, want a timeout", err)
	}
}

// A connection on which bytes keep moving lives past the timeout.
func TestMovingConnectionLives(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		for range 20 { // a byte every 100 ms for 2 s
			if _, err := c.Write([]byte{1}); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	c, err := idleconn.DialContext(&net.Dialer{}, time.Second)(t.Context(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	n, err := io.Copy(io.Discard, c)
	if err != nil || n != 20 {
		t.Errorf("read %d bytes, %v; want 20 and the end of the stream", n, err)
	}
}

// A request through Transport to a server that reads it and never answers
// (a link cut once the request is out) fails with a timeout, well before
// the caller's own deadline.
func TestTransportRequestFails(t *testing.T) {
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
			go func() {
				defer c.Close()
				_, _ = io.Copy(io.Discard, c) // until the client hangs up
			}()
		}
	}()
	tr := idleconn.Transport(200 * time.Millisecond)
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err == nil {
		resp.Body.Close()
	}
	var ne net.Error
	if ctx.Err() != nil || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a request the server never answers: %v (the test's deadline: %v), want a timeout before the deadline", err, ctx.Err())
	}
}
