package clusterrestore

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// testSet is a set with the given data nodes (each with a backup) and a
// liaison, its nodes sorted as a set keeps them.
func testSet(data ...string) repository.BackupSet {
	s := &repository.Set{Operation: strings.Repeat("ab", 16)}
	for _, n := range data {
		id := repository.Hash([]byte(n))
		s.Nodes = append(s.Nodes, repository.SetNode{Name: n, Role: repository.RoleData, Backup: &id})
	}
	s.Nodes = append(s.Nodes, repository.SetNode{Name: "liaison-0:18912", Role: repository.RoleLiaison})
	slices.SortFunc(s.Nodes, func(a, b repository.SetNode) int { return strings.Compare(a.Name, b.Name) })
	return repository.BackupSet{ID: repository.Hash([]byte("set")), Set: s}
}

// pairsOf renders a plan as "new<-old" entries in new-node order.
func pairsOf(p *Plan) []string {
	var out []string
	for _, a := range p.Nodes {
		out = append(out, a.New+"<-"+a.Old)
	}
	return out
}

func backupOf(s repository.BackupSet, name string) repository.ID {
	n, _ := s.Node(name)
	return *n.Backup
}

// Same node count: old and new paired in sorted-name order, names
// compared as strings (10.0.0.10 before 10.0.0.9, as BanyanDB sorts), and
// the order the new nodes are given in does not matter. Each assignment
// carries its old node's backup; the liaison gets nothing.
func TestPlanSortedOrder(t *testing.T) {
	s := testSet("10.0.0.9:17912", "10.0.0.10:17912", "10.0.0.11:17912")
	p, err := PlanRestore(s, Options{NewNodes: []string{"new-c:17912", "new-a:17912", "new-b:17912"}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"new-a:17912<-10.0.0.10:17912", "new-b:17912<-10.0.0.11:17912", "new-c:17912<-10.0.0.9:17912"}
	if got := pairsOf(p); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("plan %v, want %v", got, want)
	}
	for _, a := range p.Nodes {
		if a.Backup == nil || *a.Backup != backupOf(s, a.Old) {
			t.Errorf("node %s: backup %v, want %s's", a.New, a.Backup, a.Old)
		}
	}
	if p.Placement != PlacementKept || len(p.Empty()) != 0 || len(p.Restored()) != 3 || p.Set != s.ID {
		t.Errorf("plan %+v", p)
	}
	if len(p.Liaisons) != 1 || p.Liaisons[0] != "liaison-0:18912" {
		t.Errorf("liaisons %v", p.Liaisons)
	}
}

// An explicit --map is followed; one that is not the sorted order is
// said to reorder placement, one that is keeps it.
func TestPlanExplicitMap(t *testing.T) {
	s := testSet("d0:1", "d1:1", "d2:1")
	news := []string{"n0:1", "n1:1", "n2:1"}
	p, err := PlanRestore(s, Options{NewNodes: news, Map: []Pair{{"d0:1", "n2:1"}, {"d1:1", "n0:1"}, {"d2:1", "n1:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pairsOf(p), " "); got != "n0:1<-d1:1 n1:1<-d2:1 n2:1<-d0:1" {
		t.Errorf("plan %s", got)
	}
	if p.Placement != PlacementReordered {
		t.Errorf("placement %s, want reordered", p.Placement)
	}
	p, err = PlanRestore(s, Options{NewNodes: news, Map: []Pair{{"d2:1", "n2:1"}, {"d0:1", "n0:1"}, {"d1:1", "n1:1"}}})
	if err != nil || p.Placement != PlacementKept {
		t.Errorf("a map in sorted order: %v, %v", p, err)
	}
}

// More new nodes: the old nodes go onto the first new ones by name (or
// where --map says), the rest start empty, and placement shifts.
func TestPlanMoreNodes(t *testing.T) {
	s := testSet("d0:1", "d1:1")
	p, err := PlanRestore(s, Options{NewNodes: []string{"n3:1", "n1:1", "n0:1", "n2:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pairsOf(p), " "); got != "n0:1<-d0:1 n1:1<-d1:1 n2:1<- n3:1<-" {
		t.Errorf("plan %s", got)
	}
	if p.Placement != PlacementShifted || strings.Join(p.Empty(), " ") != "n2:1 n3:1" || len(p.Restored()) != 2 {
		t.Errorf("plan %+v, empty %v", p, p.Empty())
	}
	p, err = PlanRestore(s, Options{NewNodes: []string{"n0:1", "n1:1", "n2:1"}, Map: []Pair{{"d0:1", "n2:1"}, {"d1:1", "n0:1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(pairsOf(p), " "); got != "n0:1<-d1:1 n1:1<- n2:1<-d0:1" || p.Placement != PlacementShifted {
		t.Errorf("plan with a map %s, %s", got, p.Placement)
	}
}

// Fewer new nodes are refused, naming the old nodes that would have no
// home: without a map the last by name, with one those it leaves out.
func TestPlanFewerNodesRefused(t *testing.T) {
	s := testSet("d0:1", "d1:1", "d2:1")
	_, err := PlanRestore(s, Options{NewNodes: []string{"n0:1", "n1:1"}})
	if !errors.Is(err, ErrMapping) || !strings.Contains(err.Error(), "d2:1 would have no home") ||
		!strings.Contains(err.Error(), "restore onto at least 3 nodes") {
		t.Errorf("two nodes for three: %v", err)
	}
	_, err = PlanRestore(s, Options{NewNodes: []string{"n0:1"}, Map: []Pair{{"d1:1", "n0:1"}}})
	if !errors.Is(err, ErrMapping) || !strings.Contains(err.Error(), "d0:1, d2:1 would have no home") {
		t.Errorf("one node for three, with a map: %v", err)
	}
}

// A --map that does not name every old data node once, names a node the
// set lacks, a liaison, a new node not given, or one new node twice, is
// refused; so are duplicate or empty new names.
func TestPlanRefusesBadMaps(t *testing.T) {
	s := testSet("d0:1", "d1:1")
	news := []string{"n0:1", "n1:1"}
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"missing old", Options{NewNodes: news, Map: []Pair{{"d0:1", "n0:1"}}}, "it lacks d1:1"},
		{"old twice", Options{NewNodes: news, Map: []Pair{{"d0:1", "n0:1"}, {"d0:1", "n1:1"}}}, "names old node d0:1 twice"},
		{"unknown old", Options{NewNodes: news, Map: []Pair{{"d0:1", "n0:1"}, {"d9:1", "n1:1"}}}, "no data node d9:1 (its data nodes: d0:1, d1:1)"},
		{"liaison", Options{NewNodes: news, Map: []Pair{{"liaison-0:18912", "n0:1"}}}, "liaison-0:18912 is a liaison"},
		{"unknown new", Options{NewNodes: news, Map: []Pair{{"d0:1", "n0:1"}, {"d1:1", "n9:1"}}}, "n9:1 is not one of the new nodes (n0:1, n1:1)"},
		{"new twice", Options{NewNodes: news, Map: []Pair{{"d0:1", "n0:1"}, {"d1:1", "n0:1"}}}, "puts both d0:1 and d1:1 onto n0:1"},
		{"duplicate new", Options{NewNodes: []string{"n0:1", "n1:1", "n0:1"}}, "new node n0:1 is named twice"},
		{"no new", Options{}, "no new node given"},
		{"empty new", Options{NewNodes: []string{"n0:1", ""}}, "empty name"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := PlanRestore(s, c.opts)
			if !errors.Is(err, ErrMapping) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want ErrMapping with %q", err, c.want)
			}
		})
	}
}

// Member finds a node's backup; an unknown node, or a liaison without a
// backup, is ErrUnknownNode naming the nodes that have one.
func TestMember(t *testing.T) {
	s := testSet("d0:1", "d1:1")
	if id, err := Member(s, "d1:1"); err != nil || id != backupOf(s, "d1:1") {
		t.Errorf("Member d1:1 = %s, %v", id.Short(), err)
	}
	for _, name := range []string{"d9:1", "liaison-0:18912", ""} {
		_, err := Member(s, name)
		if !errors.Is(err, ErrUnknownNode) || !strings.Contains(err.Error(), "its nodes with a backup: d0:1, d1:1") {
			t.Errorf("Member %q: %v", name, err)
		}
	}
}
