// Package idleconn gives the HTTP clients of object stores connections
// that fail once no byte has moved either way for a while. A request on a
// connection whose peer is cut off (a link down, a firewall dropping
// packets, a server that stopped reading) otherwise waits until the
// kernel gives up on the connection, many minutes later; failing it with
// a timeout, a network error, lets the retry wrapper try again on a new
// connection and give up in bounded time.
package idleconn

import (
	"context"
	"net"
	"time"
)

// DefaultTimeout is the idle timeout of DialContext's connections when
// none is given: longer than any server takes to start answering a
// request it has read whole.
const DefaultTimeout = 2 * time.Minute

// DialContext returns a dial function for http.Transport: it dials with d
// and returns connections on which a read or write fails with a timeout
// once nothing has been read or written for timeout (0: DefaultTimeout).
// An idle connection in a client's pool is closed after timeout too.
func DialContext(d *net.Dialer, timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		ic := &conn{Conn: c, timeout: timeout}
		ic.extend()
		return ic, nil
	}
}

// conn moves its deadline, both ways, timeout past the last byte moved or
// the last read or write begun. A deadline moved applies to a read or
// write already waiting, so a request written on a connection that was
// idle in the pool extends the pool's pending read.
type conn struct {
	net.Conn
	timeout time.Duration
}

func (c *conn) extend() { _ = c.Conn.SetDeadline(time.Now().Add(c.timeout)) }

func (c *conn) Read(b []byte) (int, error) {
	c.extend()
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.extend()
	}
	return n, err
}

func (c *conn) Write(b []byte) (int, error) {
	c.extend()
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.extend()
	}
	return n, err
}
