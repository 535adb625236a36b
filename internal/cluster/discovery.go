// Package cluster is the coordinator of cluster backups (docs/cluster.md,
// "The coordinator's protocol"): it finds a BanyanDB cluster's nodes and
// their agents, has every agent prepare, snapshot at one barrier, upload
// and commit, and writes the backup set naming every node backup, or
// aborts everywhere and writes nothing.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ErrDiscovery is a node list the coordinator cannot use: no node, a node
// without an agent, an agent named for a node discovery does not list.
var ErrDiscovery = errors.New("cannot find the cluster's nodes")

// Node is one node of the cluster and its agent.
type Node struct {
	// Address is the node's address as discovery gives it, HOST:PORT (a
	// data node's gRPC address, a liaison's internal address); the name
	// its agent reports must match it (see SameNode).
	Address string `json:"address"`
	// Agent is the base URL of the node's agent, http(s)://HOST:PORT.
	Agent string `json:"agent"`
}

// Resolver is the part of net.Resolver discovery uses.
type Resolver interface {
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// DiscoveryOptions say where the nodes and their agents are.
type DiscoveryOptions struct {
	// File is a node discovery file in BanyanDB's format (the file of
	// --node-discovery-file-path).
	File string
	// SRV are DNS SRV names as BanyanDB's --node-discovery-dns-srv-addresses
	// gives them; each target:port is a node.
	SRV []string
	// Agents maps node addresses to their agents' URLs. With neither File
	// nor SRV, they are the node list; else they override AgentPort for
	// the nodes they name, which discovery must list.
	Agents map[string]string
	// AgentPort is the agents' port on the nodes' hosts, for the nodes
	// Agents does not name; 0: every node must be in Agents.
	AgentPort int
	// AgentScheme is "http" or "https" (the default: https).
	AgentScheme string
	// Resolver looks SRV names up; nil means net.DefaultResolver.
	Resolver Resolver
}

// Discover returns the cluster's nodes, sorted by address, each with its
// agent's URL.
func Discover(ctx context.Context, o DiscoveryOptions) ([]Node, error) {
	addrs, err := discoveredAddresses(ctx, o)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 && o.File == "" && len(o.SRV) == 0 {
		for a := range o.Agents {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: discovery lists no node", ErrDiscovery)
	}
	slices.Sort(addrs)
	addrs = slices.Compact(addrs)
	for a := range o.Agents {
		if !slices.Contains(addrs, a) {
			return nil, fmt.Errorf("%w: an agent is given for node %s, which discovery does not list", ErrDiscovery, a)
		}
	}
	nodes := make([]Node, 0, len(addrs))
	for _, a := range addrs {
		url, err := agentURL(a, o)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, Node{Address: a, Agent: url})
	}
	return nodes, nil
}

// discoveredAddresses reads the discovery file and looks the SRV names up.
func discoveredAddresses(ctx context.Context, o DiscoveryOptions) ([]string, error) {
	var out []string
	if o.File != "" {
		f, err := ReadDiscoveryFile(o.File)
		if err != nil {
			return nil, err
		}
		out = append(out, f...)
	}
	res := o.Resolver
	if res == nil {
		res = net.DefaultResolver
	}
	for _, name := range o.SRV {
		_, recs, err := res.LookupSRV(ctx, "", "", name)
		if err != nil {
			return nil, fmt.Errorf("%w: cannot look SRV name %s up: %v", ErrDiscovery, name, err)
		}
		for _, r := range recs {
			out = append(out, net.JoinHostPort(strings.TrimSuffix(r.Target, "."), strconv.Itoa(int(r.Port))))
		}
	}
	return out, nil
}

// agentURL is the agent of the node at addr: given in o.Agents, or by the
// rule (the node's host, o.AgentPort).
func agentURL(addr string, o DiscoveryOptions) (string, error) {
	if u, ok := o.Agents[addr]; ok {
		return strings.TrimSuffix(u, "/"), nil
	}
	if o.AgentPort == 0 {
		return "", fmt.Errorf("%w: node %s has no agent: give its agent (NODE=URL) or the agents' port", ErrDiscovery, addr)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: node address %q: %v", ErrDiscovery, addr, err)
	}
	scheme := o.AgentScheme
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(o.AgentPort)), nil
}

// discoveryFile is BanyanDB's node discovery file (docs/banyandb.md,
// Discovery): nodes by address; the name only appears in logs.
type discoveryFile struct {
	Nodes []struct {
		Name        string `yaml:"name"`
		GRPCAddress string `yaml:"grpc_address"`
	} `yaml:"nodes"`
}

// ReadDiscoveryFile returns the node addresses of a node discovery file.
func ReadDiscoveryFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read node discovery file: %v", ErrDiscovery, err)
	}
	var f discoveryFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: cannot parse node discovery file %s: %v", ErrDiscovery, path, err)
	}
	out := make([]string, 0, len(f.Nodes))
	for i, n := range f.Nodes {
		if _, _, err := net.SplitHostPort(n.GRPCAddress); err != nil {
			return nil, fmt.Errorf("%w: node discovery file %s: node %d (%q) has no HOST:PORT grpc_address", ErrDiscovery, path, i, n.Name)
		}
		out = append(out, n.GRPCAddress)
	}
	return out, nil
}

// SameNode reports whether name, as a node reports it (<host>:<gRPC
// port>), is the node discovery found at addr: the same string, or the
// same port and a host that addr's host resolves to (BanyanDB names a
// node by its IP in some deployments, by its hostname in others), or
// whose first label is the host of name (a pod's DNS name and its
// hostname).
func SameNode(ctx context.Context, res Resolver, addr, name string) bool {
	if addr == name {
		return true
	}
	ah, ap, err1 := net.SplitHostPort(addr)
	nh, np, err2 := net.SplitHostPort(name)
	if err1 != nil || err2 != nil || ap != np {
		return false
	}
	if first, _, _ := strings.Cut(ah, "."); first == nh && net.ParseIP(ah) == nil {
		return true
	}
	if res == nil {
		res = net.DefaultResolver
	}
	ips, err := res.LookupHost(ctx, ah)
	return err == nil && slices.Contains(ips, nh)
}
