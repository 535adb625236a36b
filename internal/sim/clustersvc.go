package sim

import (
	"context"
	"encoding/json"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// The simulator's own internal service between the nodes of a simulated
// cluster: a liaison asks each node listed in its discovery file who it is
// (NodeInfo), and sends flushed parts to data nodes (SyncPart). It stands
// for BanyanDB's internal services, which the backup tool never calls, so
// its messages are well-known protobuf types carrying JSON, and no code is
// generated for it.
const (
	clusterServiceName = "banyandb.sim.v1.ClusterService"
	methodNodeInfo     = "/" + clusterServiceName + "/NodeInfo"
	methodSyncPart     = "/" + clusterServiceName + "/SyncPart"
	// maxPartMessage bounds one part sent to a data node.
	maxPartMessage = 256 << 20
)

// NodeInfo is what a node answers about itself.
type NodeInfo struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

// partMessage is one flushed part a liaison sends to a data node.
type partMessage struct {
	Catalog string `json:"catalog"`
	Group   string `json:"group"`
	Shard   int    `json:"shard"`
	MinTS   int64  `json:"min_ts"`
	MaxTS   int64  `json:"max_ts"`
	// Files are the part's files by name, metadata.json included.
	Files map[string][]byte `json:"files"`
	// Index holds a trace part's index parts, by rule, then file name.
	Index map[string]map[string][]byte `json:"index,omitempty"`
}

// clusterHandler is what the service's handlers call.
type clusterHandler interface {
	nodeInfo(ctx context.Context) (NodeInfo, error)
	syncPart(ctx context.Context, m *partMessage) error
}

// clusterServiceDesc describes the service to grpc.Server.
var clusterServiceDesc = grpc.ServiceDesc{
	ServiceName: clusterServiceName,
	HandlerType: (*clusterHandler)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "NodeInfo", Handler: handleNodeInfo},
		{MethodName: "SyncPart", Handler: handleSyncPart},
	},
	Metadata: "internal/sim/clustersvc.go",
}

func handleNodeInfo(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	if err := dec(new(emptypb.Empty)); err != nil {
		return nil, err
	}
	info, err := srv.(clusterHandler).nodeInfo(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(info)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return wrapperspb.Bytes(b), nil
}

func handleSyncPart(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.BytesValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	var m partMessage
	if err := json.Unmarshal(in.GetValue(), &m); err != nil {
		return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("cannot parse part: %v", err))
	}
	if err := srv.(clusterHandler).syncPart(ctx, &m); err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// callNodeInfo asks the node behind conn who it is.
func callNodeInfo(ctx context.Context, conn *grpc.ClientConn) (NodeInfo, error) {
	out := new(wrapperspb.BytesValue)
	if err := conn.Invoke(ctx, methodNodeInfo, &emptypb.Empty{}, out); err != nil {
		return NodeInfo{}, err
	}
	var info NodeInfo
	if err := json.Unmarshal(out.GetValue(), &info); err != nil {
		return NodeInfo{}, fmt.Errorf("cannot parse node info: %w", err)
	}
	return info, nil
}

// callSyncPart sends a part to the data node behind conn.
func callSyncPart(ctx context.Context, conn *grpc.ClientConn, m *partMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("cannot encode part: %w", err)
	}
	return conn.Invoke(ctx, methodSyncPart, wrapperspb.Bytes(b), new(emptypb.Empty), grpc.MaxCallSendMsgSize(maxPartMessage))
}
