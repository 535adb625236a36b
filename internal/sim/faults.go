package sim

import (
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// Faults are failures the simulator can inject into snapshot calls (gRPC and
// HTTP alike). The zero value injects none.
//
// In JSON (POST /sim/faults) the fields are slow_snapshot (a duration such as
// "2s", or a number of nanoseconds), error_catalog, drop_connection,
// drop_after_snapshot, and for clusters refuse_parts and hold_queue.
type Faults struct {
	// SlowSnapshot delays every snapshot by this long before it is taken.
	// The snapshot is taken even if the caller has gone away meanwhile, as
	// a real server would; Stop cuts the delay short.
	SlowSnapshot Duration `json:"slow_snapshot"`
	// ErrorCatalog names catalogs (comma separated: measure, stream, trace,
	// property, schema-property) whose snapshot fails: the answer carries
	// a non-empty error for them and no directory is made.
	ErrorCatalog string `json:"error_catalog"`
	// DropConnection closes the caller's TCP connection instead of
	// answering, before any snapshot is taken.
	DropConnection bool `json:"drop_connection"`
	// DropAfterSnapshot takes the snapshot, then closes the connection
	// without answering: the snapshot directories are left behind.
	DropAfterSnapshot bool `json:"drop_after_snapshot"`
	// RefuseParts (data node) refuses every part a liaison sends, while
	// the node stays up: the liaison moves such parts to failed-parts/.
	RefuseParts bool `json:"refuse_parts,omitempty"`
	// HoldQueue (liaison) stops the sender: flushed parts stay queued, as
	// on a liaison that cannot drain.
	HoldQueue bool `json:"hold_queue,omitempty"`
}

// check validates the catalog names of f.
func (f Faults) check() error {
	_, err := f.errorCatalogs()
	return err
}

// errorCatalogs parses ErrorCatalog.
func (f Faults) errorCatalogs() (map[banyandb.Catalog]bool, error) {
	out := map[banyandb.Catalog]bool{}
	for _, name := range strings.Split(f.ErrorCatalog, ",") {
		if strings.TrimSpace(name) == "" {
			continue
		}
		n := strings.ToLower(strings.TrimSpace(name))
		n = strings.ReplaceAll(strings.TrimPrefix(n, "catalog_"), "_", "-")
		c, err := banyandb.ParseCatalog(n)
		if err != nil {
			return nil, fmt.Errorf("cannot parse error_catalog: %w", err)
		}
		out[c] = true
	}
	return out, nil
}

// Duration is a time.Duration that reads and writes JSON as a Go duration
// string ("1.5s"); it also reads a number of nanoseconds.
type Duration time.Duration

// MarshalJSON writes d as a duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a duration string or a number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("cannot parse duration %q: %w", s, err)
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("cannot parse duration %s: want a string such as \"2s\" or nanoseconds", b)
	}
	*d = Duration(n)
	return nil
}

// faultBox holds the current faults; safe for concurrent use.
type faultBox struct {
	mu sync.Mutex
	f  Faults
}

func (b *faultBox) get() Faults {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.f
}

func (b *faultBox) set(f Faults) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.f = f
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults { return s.faults.get() }

// SetFaults replaces the faults in force; the next snapshot call sees them.
func (s *Server) SetFaults(f Faults) error {
	if err := f.check(); err != nil {
		return fmt.Errorf("cannot set faults: %w", err)
	}
	s.faults.set(f)
	return nil
}

// trackingListener remembers every accepted connection by its remote
// address, so that a gRPC handler can close its caller's TCP connection.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]*trackedConn
}

func newTrackingListener(l net.Listener) *trackingListener {
	return &trackingListener{Listener: l, conns: map[string]*trackedConn{}}
}

// Accept wraps each connection so that it leaves the table when closed.
func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, owner: l}
	l.mu.Lock()
	l.conns[c.RemoteAddr().String()] = tc
	l.mu.Unlock()
	return tc, nil
}

// closeRemote closes the connection whose remote address is addr; it
// reports whether there was one.
func (l *trackingListener) closeRemote(addr string) bool {
	l.mu.Lock()
	c := l.conns[addr]
	l.mu.Unlock()
	if c == nil {
		return false
	}
	c.Close()
	return true
}

// trackedConn is a connection accepted by a trackingListener.
type trackedConn struct {
	net.Conn
	owner *trackingListener
	once  sync.Once
}

// Close closes the connection and forgets it.
func (c *trackedConn) Close() error {
	c.once.Do(func() {
		key := c.RemoteAddr().String()
		c.owner.mu.Lock()
		if c.owner.conns[key] == c {
			delete(c.owner.conns, key)
		}
		c.owner.mu.Unlock()
	})
	return c.Conn.Close()
}
