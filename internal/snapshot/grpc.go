package snapshot

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
)

// grpcClient talks to a node's gRPC API.
type grpcClient struct {
	conn     *grpc.ClientConn
	snaps    databasev1.SnapshotServiceClient
	common   commonv1.ServiceClient
	addr     string
	callTime time.Duration
}

// dialGRPC connects to ep and makes first contact with a GetAPIVersion call
// bounded by opts.ConnectTimeout.
func dialGRPC(ctx context.Context, ep endpoint, opts Options) (Client, error) {
	rec := &failureRecorder{}
	creds := insecure.NewCredentials()
	if ep.tls {
		cfg, err := tlsConfig(opts, ep.host)
		if err != nil {
			return nil, fmt.Errorf("cannot connect to BanyanDB node %s: %w", ep.addr, err)
		}
		creds = recordingCreds{TransportCredentials: credentials.NewTLS(cfg), rec: rec}
	}
	dialer := func(ctx context.Context, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			rec.set(err)
		}
		return c, err
	}
	conn, err := grpc.NewClient("passthrough:///"+ep.addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithContextDialer(dialer),
		grpc.WithUserAgent("banyan-backup"),
	)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to BanyanDB node %s: %w", ep.addr, err)
	}
	c := &grpcClient{
		conn:     conn,
		snaps:    databasev1.NewSnapshotServiceClient(conn),
		common:   commonv1.NewServiceClient(conn),
		addr:     ep.addr,
		callTime: opts.CallTimeout,
	}
	if err := c.probe(ctx, opts.ConnectTimeout, rec); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// probe makes first contact. Any answer of a gRPC server will do, even
// Unimplemented (a node without GetAPIVersion), but a server that is not
// gRPC, or that refuses the call, fails it.
func (c *grpcClient) probe(ctx context.Context, timeout time.Duration, rec *failureRecorder) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err := c.common.GetAPIVersion(pctx, &commonv1.GetAPIVersionRequest{})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("cannot reach BanyanDB node %s over gRPC: %w", c.addr, context.Cause(ctx))
	}
	st := status.Convert(err)
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
	case codes.Unimplemented:
		if !notGRPC(st) {
			return nil
		}
		return unreachable(c.addr, "gRPC", DefaultGRPCPort, fmt.Errorf("the port does not answer gRPC: %w", err), timeout)
	default:
		return fmt.Errorf("cannot use BanyanDB node %s over gRPC: %w", c.addr, err)
	}
	cause := rec.get()
	if cause == nil {
		if st.Code() == codes.DeadlineExceeded || pctx.Err() != nil {
			cause = fmt.Errorf("%w: %w", context.DeadlineExceeded, err)
		} else {
			cause = errors.New(st.Message())
		}
	}
	return unreachable(c.addr, "gRPC", DefaultGRPCPort, cause, timeout)
}

// notGRPC reports whether st was made up by the client from an HTTP answer
// that did not come from a gRPC server.
func notGRPC(st *status.Status) bool {
	return strings.Contains(st.Message(), "unexpected HTTP status code received from server")
}

// APIVersion calls Service/GetAPIVersion.
func (c *grpcClient) APIVersion(ctx context.Context) (Version, error) {
	cctx, cancel := context.WithTimeout(ctx, c.callTime)
	defer cancel()
	resp, err := c.common.GetAPIVersion(cctx, &commonv1.GetAPIVersionRequest{})
	if err != nil {
		return Version{}, callError(ctx, cctx, "get API version", c.addr, c.callTime, "", grpcCause(err))
	}
	return versionFrom(resp, c.addr)
}

// Snapshot calls SnapshotService/Snapshot.
func (c *grpcClient) Snapshot(ctx context.Context, groups []Group) ([]Taken, error) {
	req, err := newRequest(groups)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, c.callTime)
	defer cancel()
	resp, err := c.snaps.Snapshot(cctx, req)
	if err != nil {
		return nil, callError(ctx, cctx, "take snapshot", c.addr, c.callTime, lateSnapshotNote, grpcCause(err))
	}
	return takenFrom(resp.GetSnapshots())
}

// Close closes the connection.
func (c *grpcClient) Close() error {
	if err := c.conn.Close(); err != nil {
		return fmt.Errorf("cannot close connection to BanyanDB node %s: %w", c.addr, err)
	}
	return nil
}

// lateSnapshotNote warns that a node finishes a snapshot even when the
// caller has given up.
const lateSnapshotNote = "the node may still take the snapshot and leave it under <root>/<catalog>/snapshots"

// grpcCause rewords the error of a call: a lost connection says so.
func grpcCause(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unavailable:
		return fmt.Errorf("the node is unavailable or the connection was lost: %w", err)
	case codes.Unimplemented:
		return fmt.Errorf("the node does not offer this call: %w", err)
	}
	return err
}

// versionFrom reads a GetAPIVersion answer.
func versionFrom(resp *commonv1.GetAPIVersionResponse, addr string) (Version, error) {
	v := resp.GetVersion()
	if v == nil {
		return Version{}, fmt.Errorf("cannot get API version on BanyanDB node %s: the answer has no version", addr)
	}
	return Version{Version: v.GetVersion(), Revision: v.GetRevision()}, nil
}

// failureRecorder keeps the last dial or handshake failure, which says more
// than the status of the call that waited for the connection.
type failureRecorder struct {
	mu  sync.Mutex
	err error
}

func (r *failureRecorder) set(err error) {
	r.mu.Lock()
	r.err = err
	r.mu.Unlock()
}

func (r *failureRecorder) get() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// recordingCreds records the failures of the TLS handshake.
type recordingCreds struct {
	credentials.TransportCredentials
	rec *failureRecorder
}

// ClientHandshake runs the handshake and records its failure.
func (c recordingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	nc, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, conn)
	if err != nil {
		c.rec.set(&handshakeError{err: err})
	}
	return nc, info, err
}

// Clone keeps the recorder.
func (c recordingCreds) Clone() credentials.TransportCredentials {
	return recordingCreds{TransportCredentials: c.TransportCredentials.Clone(), rec: c.rec}
}
