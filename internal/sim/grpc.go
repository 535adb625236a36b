package sim

import (
	"context"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
)

// newGRPCServer registers banyandb.database.v1.SnapshotService,
// banyandb.common.v1.Service and the standard health service, and on the
// nodes of a cluster the simulator's internal service (clustersvc.go).
func (s *Server) newGRPCServer() *grpc.Server {
	var opts []grpc.ServerOption
	if s.cfg.Cluster.Role != RoleStandalone {
		opts = append(opts, grpc.MaxRecvMsgSize(maxPartMessage))
	}
	g := grpc.NewServer(opts...)
	if s.cfg.Cluster.Role != RoleStandalone {
		g.RegisterService(&clusterServiceDesc, s)
	}
	databasev1.RegisterSnapshotServiceServer(g, snapshotService{s: s})
	commonv1.RegisterServiceServer(g, commonService{s: s})
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(g, h)
	return g
}

// snapshotService serves SnapshotService/Snapshot.
type snapshotService struct {
	databasev1.UnimplementedSnapshotServiceServer
	s *Server
}

// Snapshot applies the connection faults around Server.Snapshot: with
// drop_connection the caller's TCP connection is closed before anything is
// done; with drop_after_snapshot, after the snapshot is taken.
func (x snapshotService) Snapshot(ctx context.Context, req *databasev1.SnapshotRequest) (*databasev1.SnapshotResponse, error) {
	f := x.s.faults.get()
	if f.DropConnection {
		x.s.stats.snapshotCalls.Add(1)
		return nil, x.dropConn(ctx)
	}
	resp, err := x.s.Snapshot(ctx, req)
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	if f.DropAfterSnapshot {
		return nil, x.dropConn(ctx)
	}
	return resp, nil
}

// dropConn closes the TCP connection the call came in on. The error it
// returns never reaches the caller.
func (x snapshotService) dropConn(ctx context.Context) error {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		x.s.grpcLn.closeRemote(p.Addr.String())
	}
	return status.Error(codes.Unavailable, "connection dropped by fault injection")
}

// commonService serves Service/GetAPIVersion.
type commonService struct {
	commonv1.UnimplementedServiceServer
	s *Server
}

// GetAPIVersion answers the configured version and revision.
func (x commonService) GetAPIVersion(context.Context, *commonv1.GetAPIVersionRequest) (*commonv1.GetAPIVersionResponse, error) {
	return x.s.apiVersion(), nil
}

// apiVersion is the answer of GetAPIVersion.
func (s *Server) apiVersion() *commonv1.GetAPIVersionResponse {
	return &commonv1.GetAPIVersionResponse{Version: &commonv1.APIVersion{
		Version: s.cfg.APIVersion, Revision: s.cfg.APIRevision}}
}
