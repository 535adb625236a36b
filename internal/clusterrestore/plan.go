// Package clusterrestore plans the restore of a backup set onto a new
// cluster: which new node gets which old node's backup. A node's data
// moves only whole (docs/cluster.md, "Restoring a set onto a new
// cluster"), so the plan maps whole old data nodes onto whole new nodes;
// each node's restore is then an ordinary restore of that member backup.
package clusterrestore

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Sentinel errors.
var (
	// ErrUnknownNode: a node name the set does not hold.
	ErrUnknownNode = errors.New("no such node in the backup set")
	// ErrMapping: the old nodes cannot be mapped onto the new ones as
	// asked (too few new nodes, or an invalid --map).
	ErrMapping = errors.New("cannot map the set's nodes onto the new cluster")
)

// Placement says what the mapping does to BanyanDB's placement of new
// writes (docs/banyandb.md, Placement).
type Placement string

const (
	// PlacementKept: as many new nodes as old, paired in sorted-name
	// order: with the same groups, each shard's new writes go to the node
	// holding its restored rows.
	PlacementKept Placement = "kept"
	// PlacementReordered: as many new nodes as old, paired in another
	// order (--map): new writes of a shard land on another node than its
	// restored rows.
	PlacementReordered Placement = "reordered"
	// PlacementShifted: more new nodes than old: new writes spread over
	// all nodes, the restored shards stop growing where they are, and
	// the nodes that start empty hold only new data.
	PlacementShifted Placement = "shifted"
)

// Pair is one --map entry: old node onto new node.
type Pair struct {
	Old, New string
}

// Options are the new cluster and how to map onto it.
type Options struct {
	// NewNodes names the new cluster's data nodes, as BanyanDB will name
	// them (<host>:<gRPC port>); their order does not matter.
	NewNodes []string
	// Map, when not empty, says where each old data node goes; it must
	// name every old data node once, and new nodes of NewNodes, each at
	// most once. Empty: sorted-name order.
	Map []Pair
}

// Assignment is one new node and the old node whose backup it gets.
type Assignment struct {
	New string `json:"new"`
	// Old and Backup are empty for a new node that starts empty.
	Old    string         `json:"old,omitempty"`
	Backup *repository.ID `json:"backup,omitempty"`
}

// Plan is the mapping of a set's nodes onto a new cluster.
type Plan struct {
	Set repository.ID `json:"set"`
	// Nodes, one per new node, sorted by name.
	Nodes     []Assignment `json:"nodes"`
	Placement Placement    `json:"placement"`
	// Liaisons are the set's liaisons: they get nothing (their queues are
	// transient).
	Liaisons []string `json:"liaisons,omitempty"`
}

// Restored returns the assignments that get an old node's backup.
func (p *Plan) Restored() []Assignment {
	var out []Assignment
	for _, a := range p.Nodes {
		if a.Old != "" {
			out = append(out, a)
		}
	}
	return out
}

// Empty returns the new nodes that start empty.
func (p *Plan) Empty() []string {
	var out []string
	for _, a := range p.Nodes {
		if a.Old == "" {
			out = append(out, a.New)
		}
	}
	return out
}

// PlanRestore maps the data nodes of s onto opts.NewNodes. Names sort as
// strings, as BanyanDB sorts them. Without a map, the i-th old node by
// name goes onto the i-th new node by name, and new nodes beyond the old
// count start empty. Fewer new nodes than old are refused, naming the old
// nodes that would have no home: two nodes' data cannot become one node's.
func PlanRestore(s repository.BackupSet, opts Options) (*Plan, error) {
	old, liaisons := dataNodes(s.Set)
	news := slices.Clone(opts.NewNodes)
	slices.Sort(news)
	if err := checkNewNodes(news); err != nil {
		return nil, err
	}
	if len(news) < len(old) {
		return nil, fewerNodes(s, old, news, opts.Map)
	}
	target, err := mapping(old, news, opts.Map, liaisons)
	if err != nil {
		return nil, err
	}
	p := &Plan{Set: s.ID, Liaisons: liaisons, Placement: placement(old, news, target)}
	back := map[string]string{}
	for o, n := range target {
		back[n] = o
	}
	for _, n := range news {
		a := Assignment{New: n, Old: back[n]}
		if a.Old != "" {
			node, _ := s.Node(a.Old)
			a.Backup = node.Backup
		}
		p.Nodes = append(p.Nodes, a)
	}
	return p, nil
}

// dataNodes returns the names of the set's data nodes and of its
// liaisons, each sorted (the set keeps its nodes sorted by name).
func dataNodes(s *repository.Set) (data, liaisons []string) {
	for _, n := range s.Nodes {
		if n.Role == repository.RoleData {
			data = append(data, n.Name)
		} else {
			liaisons = append(liaisons, n.Name)
		}
	}
	slices.Sort(data)
	slices.Sort(liaisons)
	return data, liaisons
}

// checkNewNodes refuses an empty list, empty names and duplicates; news
// is sorted.
func checkNewNodes(news []string) error {
	if len(news) == 0 {
		return fmt.Errorf("%w: no new node given", ErrMapping)
	}
	for i, n := range news {
		if n == "" {
			return fmt.Errorf("%w: a new node has an empty name", ErrMapping)
		}
		if i > 0 && news[i-1] == n {
			return fmt.Errorf("%w: new node %s is named twice", ErrMapping, n)
		}
	}
	return nil
}

// mapping returns old node → new node: the map checked, or sorted order.
func mapping(old, news []string, pairs []Pair, liaisons []string) (map[string]string, error) {
	out := map[string]string{}
	if len(pairs) == 0 {
		for i, o := range old {
			out[o] = news[i]
		}
		return out, nil
	}
	used := map[string]string{}
	for _, p := range pairs {
		switch {
		case slices.Contains(liaisons, p.Old):
			return nil, fmt.Errorf("%w: --map %s=%s: %s is a liaison, and liaisons are not restored", ErrMapping, p.Old, p.New, p.Old)
		case !slices.Contains(old, p.Old):
			return nil, fmt.Errorf("%w: --map %s=%s: the set has no data node %s (its data nodes: %s)", ErrMapping, p.Old, p.New, p.Old, strings.Join(old, ", "))
		case out[p.Old] != "":
			return nil, fmt.Errorf("%w: --map names old node %s twice", ErrMapping, p.Old)
		case !slices.Contains(news, p.New):
			return nil, fmt.Errorf("%w: --map %s=%s: %s is not one of the new nodes (%s)", ErrMapping, p.Old, p.New, p.New, strings.Join(news, ", "))
		case used[p.New] != "":
			return nil, fmt.Errorf("%w: --map puts both %s and %s onto %s: a node can take one node's data only", ErrMapping, used[p.New], p.Old, p.New)
		}
		out[p.Old], used[p.New] = p.New, p.Old
	}
	var missing []string
	for _, o := range old {
		if out[o] == "" {
			missing = append(missing, o)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%w: --map must name every data node of the set; it lacks %s", ErrMapping, strings.Join(missing, ", "))
	}
	return out, nil
}

// placement judges what the mapping does to where new writes go.
func placement(old, news []string, target map[string]string) Placement {
	if len(news) > len(old) {
		return PlacementShifted
	}
	for i, o := range old {
		if target[o] != news[i] {
			return PlacementReordered
		}
	}
	return PlacementKept
}

// fewerNodes is the refusal of a restore onto fewer nodes than the set
// has data nodes, naming the old nodes that would have no home: without
// a map the last ones by name, with one those it leaves out or puts onto
// a node already taken.
func fewerNodes(s repository.BackupSet, old, news []string, pairs []Pair) error {
	homeless := old[len(news):]
	if len(pairs) > 0 {
		homeless = nil
		placed, taken := map[string]bool{}, map[string]bool{}
		for _, p := range pairs {
			if slices.Contains(old, p.Old) && slices.Contains(news, p.New) && !taken[p.New] && !placed[p.Old] {
				placed[p.Old], taken[p.New] = true, true
			}
		}
		for _, o := range old {
			if !placed[o] {
				homeless = append(homeless, o)
			}
		}
	}
	return fmt.Errorf("%w: backup set %s has %d data nodes and the new cluster %d: %s would have no home. "+
		"A node's data moves only whole and two nodes' data cannot be merged into one; restore onto at least %d nodes",
		ErrMapping, s.ID.Short(), len(old), len(news), strings.Join(homeless, ", "), len(old))
}
