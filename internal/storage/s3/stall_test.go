package s3_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/cloudtest"
	"github.com/banyan-backup/banyan-backup/internal/storage/s3"
)

// blackHole is a TCP proxy to the server that, once cut, forwards
// nothing either way and answers nothing, but keeps every connection
// open: a link that went silent, not a refused connection.
type blackHole struct {
	ln  net.Listener
	cut atomic.Bool
	end chan struct{}
}

func newBlackHole(t *testing.T, target string) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln, end: make(chan struct{})}
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

func (b *blackHole) serve(c net.Conn, target string) {
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
func (b *blackHole) pipe(dst, src net.Conn) {
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

// A request whose connection goes silent (the link to the server cut)
// fails once nothing has moved for the idle timeout, with a transient
// error that the retry wrapper tries again, instead of waiting for the
// kernel to give up on the connection.
func TestStalledRequestFails(t *testing.T) {
	srv := cloudtest.S3(t)
	setCredentials(t, srv.AccessKey, srv.SecretKey)
	u, err := url.Parse(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	hole := newBlackHole(t, u.Host)
	be, err := s3.Open(t.Context(), srv.NewBucket(t), "stall", s3.Options{Endpoint: "http://" + hole.ln.Addr().String(),
		IdleTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	hole.cut.Store(true)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = be.Put(ctx, "data/x", 5, io.MultiReader(strings.NewReader("hello")))
	if ctx.Err() != nil || !errors.Is(err, storage.ErrTransient) {
		t.Fatalf("Put over a silent connection: %v (the test's deadline: %v), want a transient error before the deadline", err, ctx.Err())
	}
}
