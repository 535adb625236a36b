package engine

import (
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// BackupSet is one backup set as `list` and `show --json` give it.
type BackupSet struct {
	ID          string    `json:"id"`
	ShortID     string    `json:"short_id"`
	Time        time.Time `json:"time"`
	Cluster     string    `json:"cluster"`
	Coordinator string    `json:"coordinator,omitempty"`
	ToolVersion string    `json:"tool_version"`
	Operation   string    `json:"operation"`
	Tags        []string  `json:"tags"`
	// Nodes are the set's nodes, sorted by name; DataNodes counts the
	// data nodes among them.
	Nodes     []repository.SetNode `json:"nodes"`
	DataNodes int                  `json:"data_nodes"`
	Window    repository.Window    `json:"window"`
	// WindowSeconds is the width of Window.
	WindowSeconds float64              `json:"window_seconds"`
	Watermark     map[string]time.Time `json:"watermark,omitempty"`
	Drain         *repository.Drain    `json:"drain,omitempty"`
	// Schemas is the number of distinct schema trees among the data
	// nodes that recorded one: more than one means the schema changed
	// during the window.
	Schemas int `json:"schemas,omitempty"`
}

// SummarizeSet describes a set.
func SummarizeSet(s repository.BackupSet) BackupSet {
	out := BackupSet{ID: s.ID.String(), ShortID: s.ID.Short(), Time: s.Time, Cluster: s.Cluster, Coordinator: s.Coordinator,
		ToolVersion: s.ToolVersion, Operation: s.Operation, Tags: s.Tags, Nodes: s.Nodes, DataNodes: s.DataNodes(),
		Window: s.Window, WindowSeconds: s.Window.Width().Seconds(), Watermark: s.Watermark, Drain: s.Drain}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	schemas := map[repository.ID]bool{}
	for _, n := range s.Nodes {
		if n.SchemaTree != nil {
			schemas[*n.SchemaTree] = true
		}
	}
	out.Schemas = len(schemas)
	return out
}

// SummarizeSets describes sets in their order.
func SummarizeSets(sets []repository.BackupSet) []BackupSet {
	out := make([]BackupSet, 0, len(sets))
	for _, s := range sets {
		out = append(out, SummarizeSet(s))
	}
	return out
}

// EarliestWatermark is the earliest of a set's per-catalog watermarks;
// zero when it has none.
func (s BackupSet) EarliestWatermark() time.Time {
	var out time.Time
	for _, w := range s.Watermark {
		if out.IsZero() || w.Before(out) {
			out = w
		}
	}
	return out
}
