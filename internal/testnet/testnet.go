// Package testnet gives tests hosts of their own on one machine: each
// host is a Linux network namespace joined by a veth pair to a bridge in
// the test's namespace, with an address of its own. A process started on
// a host listens and connects from that address; cutting a host's link
// drops its packets both ways, so a peer's connection hangs until its
// timeout as it does across a real network, instead of being refused at
// once as by a closed port.
//
// Creating namespaces, links and bridges needs root (CAP_NET_ADMIN) and
// the ip command of iproute2. New skips the test where that cannot be
// had, and fails it under CI=true, where the tests run as root.
package testnet

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Net is a bridge in the test's namespace with hosts attached.
type Net struct {
	t      testing.TB
	id     string // a few hex digits that name this net's links
	bridge string
	subnet [3]byte // 10.a.b.0/24
	hosts  []*Host
}

// Host is one network namespace on a Net.
type Host struct {
	net  *Net
	Name string // the namespace's name, for ip netns exec
	IP   string // its address on the bridge
	veth string // the host end of its link, in the test's namespace
}

// New creates a bridge with an address (Gateway) in the test's namespace,
// and removes it, with every host, when the test ends.
func New(t testing.TB) *Net {
	t.Helper()
	if err := usable(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("cannot create network namespaces (CI runs as root and must): %v", err)
		}
		t.Skipf("cannot create network namespaces (run as root with iproute2): %v", err)
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	n := &Net{t: t, id: fmt.Sprintf("%06x", binary.BigEndian.Uint32(rnd[:])&0xffffff)}
	// 10.200-249.x.0/24: away from the addresses container runtimes and
	// clouds usually take; the random part keeps parallel tests apart.
	n.subnet = [3]byte{10, 200 + rnd[2]%50, rnd[3]}
	n.bridge = "bbbr" + n.id
	t.Cleanup(n.remove)
	n.must("link", "add", n.bridge, "type", "bridge")
	n.must("addr", "add", n.Gateway()+"/24", "dev", n.bridge)
	n.must("link", "set", n.bridge, "up")
	return n
}

// Gateway is the test's own address on the bridge: processes on the hosts
// reach the test's servers there.
func (n *Net) Gateway() string { return n.addr(1) }

func (n *Net) addr(i int) string {
	return fmt.Sprintf("%d.%d.%d.%d", n.subnet[0], n.subnet[1], n.subnet[2], i)
}

// AddHost creates a namespace with its loopback up and a link to the
// bridge, at the next address.
func (n *Net) AddHost() *Host {
	n.t.Helper()
	i := len(n.hosts)
	h := &Host{
		net:  n,
		Name: fmt.Sprintf("bbt%s-%d", n.id, i),
		IP:   n.addr(i + 2),
		veth: fmt.Sprintf("bbv%s%d", n.id, i),
	}
	peer := h.veth + "p"
	n.hosts = append(n.hosts, h)
	n.must("netns", "add", h.Name)
	n.must("link", "add", h.veth, "type", "veth", "peer", "name", peer)
	n.must("link", "set", peer, "netns", h.Name)
	n.must("link", "set", h.veth, "master", n.bridge)
	n.must("link", "set", h.veth, "up")
	n.must("-n", h.Name, "link", "set", "lo", "up")
	n.must("-n", h.Name, "addr", "add", h.IP+"/24", "dev", peer)
	n.must("-n", h.Name, "link", "set", peer, "up")
	n.must("-n", h.Name, "route", "add", "default", "via", n.Gateway())
	return h
}

// Command returns a command that runs name with args on the host.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.Name, name}, args...)...)
}

// Cut takes the host's link down: from then on nothing it sends or is
// sent arrives, and connections to and from it hang.
func (h *Host) Cut() {
	h.net.t.Helper()
	h.net.must("link", "set", h.veth, "down")
}

// Mend brings the host's link up again.
func (h *Host) Mend() {
	h.net.t.Helper()
	h.net.must("link", "set", h.veth, "up")
}

func (n *Net) must(args ...string) {
	n.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		n.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// remove deletes the namespaces (which deletes their links) and the
// bridge. A process still running on a host keeps its namespace alive
// until it exits; the test's own clean-up stops its processes first,
// since cleanups run in reverse order.
func (n *Net) remove() {
	for _, h := range n.hosts {
		_ = exec.Command("ip", "netns", "delete", h.Name).Run()
		_ = exec.Command("ip", "link", "delete", h.veth).Run()
	}
	_ = exec.Command("ip", "link", "delete", n.bridge).Run()
}

// usable creates and deletes a namespace, to tell whether New can work.
func usable() error {
	if _, err := exec.LookPath("ip"); err != nil {
		return err
	}
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	name := fmt.Sprintf("bbtprobe%x", rnd)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return exec.Command("ip", "netns", "delete", name).Run()
}
