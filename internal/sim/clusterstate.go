package sim

import (
	"os"
	"path/filepath"
	"time"
)

// ClusterState is what GET /sim/cluster shows of a node.
type ClusterState struct {
	Role string `json:"role"`
	Name string `json:"name"`
	// Liaison only: the nodes of the discovery file as last seen, where
	// each shard's copies go now, and the queue.
	Nodes     []PeerState   `json:"nodes,omitempty"`
	Placement []PlacedShard `json:"placement,omitempty"`
	Queue     *QueueState   `json:"queue,omitempty"`
}

// PlacedShard is a shard with the nodes its copies go to now.
type PlacedShard struct {
	ShardKey
	Nodes []string `json:"nodes"`
}

// QueueState is what a liaison holds on disk and has not delivered.
type QueueState struct {
	// Parts and Bytes are the flushed parts waiting to be delivered;
	// OldestFlush is when the oldest of them was flushed.
	Parts       int        `json:"parts"`
	Bytes       int64      `json:"bytes"`
	OldestFlush *time.Time `json:"oldest_flush,omitempty"`
	// FailedParts and FailedBytes are what failed-parts/ directories hold.
	FailedParts int   `json:"failed_parts"`
	FailedBytes int64 `json:"failed_bytes"`
}

// ClusterState returns the node's role and name, and for a liaison its
// view of the cluster and its queue.
func (s *Server) ClusterState() ClusterState {
	st := ClusterState{Role: s.cfg.Cluster.Role.String(), Name: s.name}
	if s.cfg.Cluster.Role != RoleLiaison {
		return st
	}
	live := s.peers.live()
	byAddr := map[string]string{}
	for name, addr := range live {
		byAddr[addr] = name
	}
	if f, err := ReadDiscoveryFile(s.cfg.Cluster.DiscoveryFile); err == nil {
		for _, n := range f.Nodes {
			name, up := byAddr[n.GRPCAddress]
			st.Nodes = append(st.Nodes, PeerState{Address: n.GRPCAddress, Name: name, Up: up})
		}
	}
	names := liveNames(live)
	for i, k := range s.table {
		def, _ := s.schemaGroup(k.Group)
		st.Placement = append(st.Placement, PlacedShard{ShardKey: k, Nodes: Place(i, def.Replicas, names)})
	}
	q := s.QueueState()
	st.Queue = &q
	return st
}

// QueueState returns what the liaison's queue holds now.
func (s *Server) QueueState() QueueState {
	var q QueueState
	if s.queue == nil {
		return q
	}
	s.mu.Lock()
	dirs := []string{}
	for _, p := range s.queue.parts {
		q.Parts++
		q.Bytes += p.bytes
		if q.OldestFlush == nil || p.flushed.Before(*q.OldestFlush) {
			at := p.flushed
			q.OldestFlush = &at
		}
	}
	for _, sh := range s.queue.shards {
		dirs = append(dirs, filepath.Join(sh.dir, failedPartsDir))
	}
	s.mu.Unlock()
	for _, d := range dirs {
		entries, err := os.ReadDir(d)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				q.FailedParts++
				q.FailedBytes += dirBytes(filepath.Join(d, e.Name()))
			}
		}
	}
	return q
}
