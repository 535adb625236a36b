package sim

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// peerSet is what a liaison knows of the nodes its discovery file lists:
// a connection to each, and which of them are data nodes that are up,
// by the name they gave. Safe for concurrent use.
type peerSet struct {
	mu    sync.Mutex
	conns map[string]*grpc.ClientConn // by address
	up    map[string]NodeInfo         // data nodes up, by address
}

func newPeerSet() *peerSet {
	return &peerSet{conns: map[string]*grpc.ClientConn{}, up: map[string]NodeInfo{}}
}

// PeerState is one node of a liaison's discovery file, as GET /sim/cluster
// shows it.
type PeerState struct {
	Address string `json:"address"`
	Name    string `json:"name,omitempty"`
	Role    string `json:"role,omitempty"`
	Up      bool   `json:"up"`
}

// refresh reads the discovery file and asks every node listed who it is,
// each call bounded by timeout: the data nodes that answer are up, the
// others (and liaisons) are not. Connections of nodes no longer listed are
// closed.
func (p *peerSet) refresh(ctx context.Context, file string, timeout time.Duration) ([]PeerState, error) {
	f, err := ReadDiscoveryFile(file)
	if err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	var states []PeerState
	for _, n := range f.Nodes {
		listed[n.GRPCAddress] = true
		conn, err := p.conn(n.GRPCAddress)
		if err != nil {
			return nil, err
		}
		callCtx, cancel := context.WithTimeout(ctx, timeout)
		info, err := callNodeInfo(callCtx, conn)
		cancel()
		st := PeerState{Address: n.GRPCAddress}
		p.mu.Lock()
		if err == nil && info.Role == string(RoleData) {
			p.up[n.GRPCAddress] = info
			st.Up = true
		} else {
			delete(p.up, n.GRPCAddress)
		}
		p.mu.Unlock()
		if err == nil {
			st.Name, st.Role = info.Name, info.Role
		}
		states = append(states, st)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.conns {
		if !listed[addr] {
			_ = c.Close()
			delete(p.conns, addr)
			delete(p.up, addr)
		}
	}
	return states, nil
}

// conn returns the connection to addr, made on first use.
func (p *peerSet) conn(addr string) (*grpc.ClientConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.conns[addr]; ok {
		return c, nil
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("cannot connect to node %s: %w", addr, err)
	}
	p.conns[addr] = c
	return c, nil
}

// live returns the data nodes up, name → address.
func (p *peerSet) live() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for addr, info := range p.up {
		out[info.Name] = addr
	}
	return out
}

// liveNames returns the names of the data nodes up, sorted.
func liveNames(live map[string]string) []string {
	out := make([]string, 0, len(live))
	for name := range live {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// markDown takes the node at addr out of the live list until the next
// refresh finds it answering.
func (p *peerSet) markDown(addr string) {
	p.mu.Lock()
	delete(p.up, addr)
	p.mu.Unlock()
}

// close closes every connection.
func (p *peerSet) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for addr, c := range p.conns {
		_ = c.Close()
		delete(p.conns, addr)
	}
	p.up = map[string]NodeInfo{}
}
