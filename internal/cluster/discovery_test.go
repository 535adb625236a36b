package cluster_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/cluster"
)

// writeFile writes a discovery file in BanyanDB's format.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nodes.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const discoveryYAML = `nodes:
  - name: data-1
    grpc_address: 10.0.0.3:17912
    tls_enabled: true
    ca_cert_path: /etc/ca.pem
  - name: data-0
    grpc_address: 10.0.0.2:17912
  - name: liaison-0
    grpc_address: 10.0.0.9:18912
`

// The file's nodes, sorted by address, get their agent by the rule (the
// node's host and the agents' port) unless the explicit list names them.
func TestDiscoverFromFile(t *testing.T) {
	path := writeFile(t, discoveryYAML)
	nodes, err := cluster.Discover(context.Background(), cluster.DiscoveryOptions{File: path, AgentPort: 17950,
		Agents: map[string]string{"10.0.0.9:18912": "https://liaison-agent:9000/"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []cluster.Node{
		{Address: "10.0.0.2:17912", Agent: "https://10.0.0.2:17950"},
		{Address: "10.0.0.3:17912", Agent: "https://10.0.0.3:17950"},
		{Address: "10.0.0.9:18912", Agent: "https://liaison-agent:9000"},
	}
	if !reflect.DeepEqual(nodes, want) {
		t.Errorf("nodes %+v, want %+v", nodes, want)
	}
	nodes, err = cluster.Discover(context.Background(), cluster.DiscoveryOptions{File: path, AgentPort: 80, AgentScheme: "http"})
	if err != nil || nodes[0].Agent != "http://10.0.0.2:80" {
		t.Errorf("plain HTTP agents: %+v %v", nodes, err)
	}
}

// Without a file, the explicit list is the node list.
func TestDiscoverExplicitList(t *testing.T) {
	nodes, err := cluster.Discover(context.Background(), cluster.DiscoveryOptions{
		Agents: map[string]string{"b:1": "http://b:2", "a:1": "http://a:2"}})
	want := []cluster.Node{{Address: "a:1", Agent: "http://a:2"}, {Address: "b:1", Agent: "http://b:2"}}
	if err != nil || !reflect.DeepEqual(nodes, want) {
		t.Errorf("nodes %+v %v, want %+v", nodes, err, want)
	}
}

// Every refusal is ErrDiscovery: no node, a node without an agent, an
// agent for a node not listed, an entry without an address, a file that
// is not there or not YAML.
func TestDiscoverRefusals(t *testing.T) {
	path := writeFile(t, discoveryYAML)
	for name, o := range map[string]cluster.DiscoveryOptions{
		"nothing":            {},
		"empty file":         {File: writeFile(t, "nodes: []\n"), AgentPort: 1},
		"no agent port":      {File: path},
		"agent of no node":   {File: path, AgentPort: 1, Agents: map[string]string{"10.0.0.7:17912": "http://x:1"}},
		"entry without addr": {File: writeFile(t, "nodes:\n  - name: data-0\n"), AgentPort: 1},
		"missing file":       {File: filepath.Join(t.TempDir(), "none.yaml"), AgentPort: 1},
		"not YAML":           {File: writeFile(t, "nodes: [\n"), AgentPort: 1},
	} {
		if _, err := cluster.Discover(context.Background(), o); !errors.Is(err, cluster.ErrDiscovery) {
			t.Errorf("%s: %v, want ErrDiscovery", name, err)
		}
	}
}

// fakeResolver answers SRV and host look-ups from maps: a DNS server
// cannot be had in a test without one.
type fakeResolver struct {
	srv   map[string][]*net.SRV
	hosts map[string][]string
}

func (f fakeResolver) LookupSRV(_ context.Context, _, _, name string) (string, []*net.SRV, error) {
	if recs, ok := f.srv[name]; ok {
		return name, recs, nil
	}
	return "", nil, errors.New("no such host")
}

func (f fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if ips, ok := f.hosts[host]; ok {
		return ips, nil
	}
	return nil, errors.New("no such host")
}

// SRV names give target:port nodes, as BanyanDB's DNS discovery does; a
// name that does not resolve is ErrDiscovery.
func TestDiscoverSRV(t *testing.T) {
	res := fakeResolver{srv: map[string][]*net.SRV{
		"_grpc._tcp.banyandb-data-headless.ns": {
			{Target: "banyandb-data-1.banyandb-data-headless.ns.svc.cluster.local.", Port: 17912},
			{Target: "banyandb-data-0.banyandb-data-headless.ns.svc.cluster.local.", Port: 17912}},
	}}
	nodes, err := cluster.Discover(context.Background(), cluster.DiscoveryOptions{Resolver: res, AgentPort: 17950,
		SRV: []string{"_grpc._tcp.banyandb-data-headless.ns"}})
	if err != nil || len(nodes) != 2 || nodes[0].Address != "banyandb-data-0.banyandb-data-headless.ns.svc.cluster.local:17912" ||
		nodes[0].Agent != "https://banyandb-data-0.banyandb-data-headless.ns.svc.cluster.local:17950" {
		t.Errorf("nodes %+v %v", nodes, err)
	}
	_, err = cluster.Discover(context.Background(), cluster.DiscoveryOptions{Resolver: res, AgentPort: 1, SRV: []string{"_grpc._tcp.none"}})
	if !errors.Is(err, cluster.ErrDiscovery) {
		t.Errorf("an SRV name that does not resolve: %v", err)
	}
}

// A node's reported name matches its discovered address when equal, when
// the address's host resolves to the name's host (names by IP), or when
// the address's first label is the name's host (a pod's DNS name); never
// across ports.
func TestSameNode(t *testing.T) {
	res := fakeResolver{hosts: map[string][]string{"data-0.svc": {"10.0.0.2"}}}
	for _, c := range []struct {
		addr, name string
		same       bool
	}{
		{"10.0.0.2:17912", "10.0.0.2:17912", true},
		{"data-0.svc:17912", "10.0.0.2:17912", true},
		{"data-0.headless.ns.svc.cluster.local:17912", "data-0:17912", true},
		{"data-0.svc:17912", "10.0.0.2:17913", false},
		{"10.0.0.2:17912", "10.0.0.3:17912", false},
		{"10.0.0.2:17912", "10:17912", false},
		{"data-1.svc:17912", "data-0:17912", false},
	} {
		if got := cluster.SameNode(context.Background(), res, c.addr, c.name); got != c.same {
			t.Errorf("SameNode(%s, %s) = %v", c.addr, c.name, got)
		}
	}
}
