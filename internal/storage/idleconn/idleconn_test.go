package idleconn_test

import (
	"errors"
	"io"
	"net"
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
