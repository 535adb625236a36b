package sim

import (
	"slices"
	"sort"
)

// ShardKey is one (group, shard) entry of the placement table.
type ShardKey struct {
	Group string `json:"group"`
	Shard int    `json:"shard"`
}

// PlacementTable is the table a liaison places writes by: one entry per
// shard of every group of every catalog (internal groups included), sorted
// by group name, then shard (docs/banyandb.md, Clusters, Placement).
func PlacementTable(s *Schema) []ShardKey {
	var out []ShardKey
	for _, g := range s.Groups {
		for n := range g.Shards {
			out = append(out, ShardKey{g.Name, n})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return out[i].Group < out[j].Group
		}
		return out[i].Shard < out[j].Shard
	})
	return out
}

// Place returns the nodes that replica 0 to replicas of table entry index
// go to: nodes[(index + r) % len(nodes)], the nodes sorted by name as
// strings; a node is named once even when there are fewer nodes than
// copies. nodes is the list of the nodes up now; it need not be sorted.
func Place(index, replicas int, nodes []string) []string {
	if len(nodes) == 0 || index < 0 {
		return nil
	}
	sorted := append([]string(nil), nodes...)
	sort.Strings(sorted)
	var out []string
	for r := 0; r <= replicas; r++ {
		n := sorted[(index+r)%len(sorted)]
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// placeShard returns the nodes a shard of a group goes to, over nodes.
func placeShard(table []ShardKey, group string, shard, replicas int, nodes []string) []string {
	for i, k := range table {
		if k.Group == group && k.Shard == shard {
			return Place(i, replicas, nodes)
		}
	}
	return nil
}
