package repository

import "testing"

func TestNodeHost(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"banyandb-data-0.banyandb-data-headless.sw:17912", "banyandb-data-0.banyandb-data-headless.sw"},
		{"http://banyandb-data-0.banyandb-data-headless.sw:17913", "banyandb-data-0.banyandb-data-headless.sw"},
		{"https://Data-0.example.com.:17913/", "data-0.example.com"},
		{"10.0.0.5:17912", "10.0.0.5"},
		{"http://10.0.0.5:17913", "10.0.0.5"},
		{"[fd00::5]:17912", "fd00::5"},
		{"data-0", "data-0"},
		{"127.0.0.1:17912", "runner"},
		{"http://127.0.0.2:17913", "runner"},
		{"localhost:17912", "runner"},
		{"http://localhost:17913", "runner"},
		{"[::1]:17912", "runner"},
		{"0.0.0.0:17912", "runner"},
		{"", "runner"},
	} {
		if got := NodeHost(c.addr, "runner"); got != c.want {
			t.Errorf("NodeHost(%q) = %q, want %q", c.addr, got, c.want)
		}
	}
}

// TestManifestHost: a manifest that records its runner names its node in
// hostname; an older one recorded the runner there, and a live one of
// those is of the node it names.
func TestManifestHost(t *testing.T) {
	for _, c := range []struct {
		name string
		m    Manifest
		want string
	}{
		{"new live", Manifest{Hostname: "data-0", Runner: "pod-x", Source: Source{Type: "node", Node: "10.0.0.5:17912"}}, "data-0"},
		{"new offline", Manifest{Hostname: "vm-1", Runner: "vm-1", Source: Source{Type: "root"}}, "vm-1"},
		{"old live", Manifest{Hostname: "pod-x", Source: Source{Type: "node", Node: "http://data-0:17913"}}, "data-0"},
		{"old live on localhost", Manifest{Hostname: "data-0", Source: Source{Type: "node", Node: "127.0.0.1:17912"}}, "data-0"},
		{"old offline", Manifest{Hostname: "vm-1", Source: Source{Type: "root"}}, "vm-1"},
	} {
		if got := c.m.Host(); got != c.want {
			t.Errorf("%s: Host() = %q, want %q", c.name, got, c.want)
		}
	}
}
