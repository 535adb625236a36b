package repository

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
)

// NodeHost names the BanyanDB node a live backup of the node at addr is
// of: the host of its address, without scheme or port, so that the same
// node reached through gRPC (HOST:17912) and through HTTP
// (http://HOST:17913) is one node. A loopback address names the machine
// the backup runs on (runner): a backup beside its node (a sidecar in the
// node's pod, a timer on the node's machine) reaches it as localhost, and
// shares the node's hostname, which is what BanyanDB names a node after
// by default (docs/banyandb.md, Clusters).
func NodeHost(addr, runner string) string {
	host := addr
	if strings.Contains(addr, "://") {
		if u, err := url.Parse(addr); err == nil {
			host = u.Hostname()
		}
	} else if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if host == "" || host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return runner
	}
	if ip, err := netip.ParseAddr(host); err == nil && (ip.IsLoopback() || ip.IsUnspecified()) {
		return runner
	}
	return host
}

// Host is the node the backup is of, by which retention groups backups
// and `list` shows them: the recorded hostname. Manifests written before
// the runner was recorded hold the runner's hostname there; for a live
// one of those, Host is the node's (NodeHost).
func (m *Manifest) Host() string {
	if m.Runner != "" || m.Source.Type != "node" {
		return m.Hostname
	}
	return NodeHost(m.Source.Node, m.Hostname)
}
