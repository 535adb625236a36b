// Package snapshot asks a BanyanDB node for snapshots of its data and finds
// them on disk.
//
// Dial connects to a node over gRPC (SnapshotService/Snapshot and
// Service/GetAPIVersion on port 17912) or over its HTTP API (POST
// /api/v1/snapshot and GET /api/v1/common/api/version on port 17913).
// Client.Snapshot returns one Taken per catalog the node answered for; Dir
// tells where a snapshot lies in the layout of a data dir, Remove deletes the
// snapshots when the backup is done, and Request turns the user's catalog and
// group selection into what to ask the node for (see the property quirk in
// Request).
package snapshot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// Default ports and limits.
const (
	DefaultGRPCPort       = 17912
	DefaultHTTPPort       = 17913
	DefaultConnectTimeout = 10 * time.Second
	DefaultCallTimeout    = 5 * time.Minute
	DefaultRetryWait      = 10 * time.Second
)

// ErrUnreachable is matched (errors.Is) by the error of Dial when the node
// cannot be reached: refused or timed-out connection, unknown host, failed
// TLS handshake.
var ErrUnreachable = errors.New("node unreachable")

// ErrCallTimeout is matched (errors.Is) by the error of a call that got no
// answer within Options.CallTimeout.
var ErrCallTimeout = errors.New("call timed out")

// Options says how to reach a node.
type Options struct {
	// Node is "host:port" or "grpc://host:port" for the gRPC API (the port
	// defaults to 17912), "http://host:port" or "https://host:port" for the
	// HTTP API (the port defaults to 17913; a path is kept as a prefix).
	Node string
	// TLS turns TLS on for gRPC; https:// implies it for HTTP.
	TLS bool
	// CACert is a PEM file of the CA certificates to trust instead of the
	// system's.
	CACert string
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
	// ConnectTimeout limits the dial and first contact; 0 means 10s.
	ConnectTimeout time.Duration
	// Retries is how many more times Dial tries a node it cannot reach (a
	// node restarting, a pod being rescheduled), waiting RetryWait before
	// the first retry and twice as long before each next one; 0 tries once.
	Retries   int
	RetryWait time.Duration
	// CallTimeout limits each call; 0 means 5m (snapshots of big nodes can
	// take a while).
	CallTimeout time.Duration
}

// Group names one group of a catalog to snapshot.
type Group struct {
	// Catalog is measure, stream, trace or property; schema-property is
	// taken together with property and cannot be asked for.
	Catalog banyandb.Catalog
	Name    string
}

// Taken is one catalog's answer to a snapshot request.
type Taken struct {
	// Catalog is measure, stream, trace, property or schema-property (the
	// node answers the latter as a property snapshot named
	// "schema-property/<name>").
	Catalog banyandb.Catalog
	// Name is the snapshot's name without prefix, such as
	// "20261123193143-00000001"; it may be empty when Error is set.
	Name string
	// Error is the node's error text; non-empty means the snapshot failed.
	Error string
}

// Failed reports whether the node said the snapshot failed.
func (t Taken) Failed() bool { return t.Error != "" }

// Version is the API version a node reports.
type Version struct {
	Version, Revision string
}

// Client talks to one node. Its methods may be called from one goroutine at
// a time.
type Client interface {
	// APIVersion calls GetAPIVersion.
	APIVersion(ctx context.Context) (Version, error)
	// Snapshot asks the node for snapshots of groups (none means
	// everything) and returns what it answered, one Taken per catalog
	// answer. When the answer cannot be used entirely, the error comes
	// with the Taken that could be read, so that they can be removed.
	Snapshot(ctx context.Context, groups []Group) ([]Taken, error)
	// Close releases the connection.
	Close() error
}

// Dial checks opts, connects to the node and makes first contact with it
// within opts.ConnectTimeout, so that an unreachable node is reported here
// (matching ErrUnreachable) with the address and what to check.
func Dial(ctx context.Context, opts Options) (Client, error) {
	wait := opts.RetryWait
	if wait <= 0 {
		wait = DefaultRetryWait
	}
	for try := 0; ; try++ {
		c, err := dialOnce(ctx, opts)
		if err == nil || !errors.Is(err, ErrUnreachable) {
			return c, err
		}
		if try >= opts.Retries {
			if try > 0 {
				err = fmt.Errorf("%w (after %d tries)", err, try+1)
			}
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (gave up waiting for it after %d tries: %w)", err, try+1, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
}

// dialOnce is one try of Dial.
func dialOnce(ctx context.Context, opts Options) (Client, error) {
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = DefaultCallTimeout
	}
	ep, err := parseNode(opts)
	if err != nil {
		return nil, err
	}
	if ep.http {
		return dialHTTP(ctx, ep, opts)
	}
	return dialGRPC(ctx, ep, opts)
}

// endpoint is a parsed Options.Node.
type endpoint struct {
	http bool
	tls  bool
	host string // without brackets
	addr string // host:port
	base string // HTTP only: scheme://host:port[/prefix], no trailing slash
}

// parseNode reads opts.Node and checks that the TLS options fit it.
func parseNode(opts Options) (endpoint, error) {
	node := strings.TrimSpace(opts.Node)
	if node == "" {
		return endpoint{}, errors.New("cannot parse node address: no address given")
	}
	raw := node
	if !strings.Contains(raw, "://") {
		raw = "grpc://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return endpoint{}, fmt.Errorf("cannot parse node address %q: %w", node, err)
	}
	var ep endpoint
	port := DefaultGRPCPort
	switch strings.ToLower(u.Scheme) {
	case "grpc":
		if u.Path != "" && u.Path != "/" {
			return endpoint{}, fmt.Errorf("cannot parse node address %q: a gRPC address has no path", node)
		}
		ep.tls = opts.TLS
	case "http", "https":
		ep.http, ep.tls, port = true, strings.EqualFold(u.Scheme, "https"), DefaultHTTPPort
		if opts.TLS && !ep.tls {
			return endpoint{}, fmt.Errorf("cannot parse node address %q: TLS is on but the address is http://: use https://", node)
		}
	default:
		return endpoint{}, fmt.Errorf("cannot parse node address %q: unknown scheme %q: want grpc://, http:// or https://", node, u.Scheme)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("cannot parse node address %q: want [scheme://]host[:port] only", node)
	}
	ep.host = u.Hostname()
	if ep.host == "" {
		return endpoint{}, fmt.Errorf("cannot parse node address %q: no host", node)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return endpoint{}, fmt.Errorf("cannot parse node address %q: bad port %q", node, p)
		}
		port = n
	}
	ep.addr = net.JoinHostPort(ep.host, strconv.Itoa(port))
	if ep.http {
		scheme := "http"
		if ep.tls {
			scheme = "https"
		}
		ep.base = scheme + "://" + ep.addr + strings.TrimRight(u.EscapedPath(), "/")
	}
	if !ep.tls && (opts.CACert != "" || opts.InsecureSkipVerify) {
		return endpoint{}, fmt.Errorf("cannot parse node address %q: TLS options are set but TLS is off", node)
	}
	return ep, nil
}

// contactError is why first contact with a node failed: a short
// description, the underlying error and what the user should check.
type contactError struct {
	what string
	err  error
}

func (e *contactError) Error() string { return e.what }
func (e *contactError) Unwrap() error { return e.err }

// Is makes every contactError match ErrUnreachable.
func (e *contactError) Is(target error) bool { return target == ErrUnreachable }

// unreachable returns the error of Dial for a node that could not be
// reached over api ("gRPC" or "HTTP") at addr, with a hint.
func unreachable(addr, api string, port int, cause error, timeout time.Duration) error {
	what, hint := describeContact(cause, timeout)
	switch hint {
	case "":
		hint = fmt.Sprintf("is the node running and is this its %s port (%d)?", api, port)
	case otherHint:
		hint = fmt.Sprintf("is this the node's %s port (%d), and does the node use TLS?", api, port)
	}
	return fmt.Errorf("cannot reach BanyanDB node %s over %s: %w: %s", addr, api, &contactError{what: what, err: cause}, hint)
}

// describeContact says in a few words why a connection failed, and what to
// check when the default hint does not fit.
func describeContact(err error, timeout time.Duration) (what, hint string) {
	var dnsErr *net.DNSError
	switch {
	case isTLSError(err):
		return "TLS handshake failed: " + tlsCause(err).Error(),
			"check the CA certificate (or InsecureSkipVerify) and that the node serves TLS on this port"
	case isRefused(err):
		return "connection refused", ""
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve host %s: %s", dnsErr.Name, dnsErr.Err), "is the host name right?"
	case isTimeout(err):
		return fmt.Sprintf("no answer within %v", timeout), ""
	}
	return err.Error(), otherHint
}

// otherHint stands for the hint given when the cause of a failed contact is
// not one of the usual ones.
const otherHint = "other"

// isTimeout reports whether err is a deadline or a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// callError returns the error of a call named verb ("take snapshot") that
// failed with err: a timeout (CallTimeout passed while the caller's ctx did
// not) matches ErrCallTimeout and carries note, if any; a cancelled caller
// gets ctx's error.
func callError(ctx, callCtx context.Context, verb, addr string, timeout time.Duration, note string, err error) error {
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("cannot %s on BanyanDB node %s: %w", verb, addr, context.Cause(ctx))
	case pastDeadline(ctx): // the caller's own deadline, seen first by gRPC
		return fmt.Errorf("cannot %s on BanyanDB node %s: %w", verb, addr, context.DeadlineExceeded)
	case pastDeadline(callCtx):
		te := &timeoutError{timeout: timeout, err: err}
		if note != "" {
			return fmt.Errorf("cannot %s on BanyanDB node %s: %w: %s", verb, addr, te, note)
		}
		return fmt.Errorf("cannot %s on BanyanDB node %s: %w", verb, addr, te)
	}
	return fmt.Errorf("cannot %s on BanyanDB node %s: %w", verb, addr, err)
}

// pastDeadline reports whether ctx's deadline has passed (gRPC may report
// it before ctx does).
func pastDeadline(ctx context.Context) bool {
	d, ok := ctx.Deadline()
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || (ok && !time.Now().Before(d))
}

// timeoutError is a call that got no answer within the call timeout.
type timeoutError struct {
	timeout time.Duration
	err     error
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer within %v (the call timeout)", e.timeout)
}
func (e *timeoutError) Unwrap() error { return e.err }

// Is makes every timeoutError match ErrCallTimeout.
func (e *timeoutError) Is(target error) bool { return target == ErrCallTimeout }
