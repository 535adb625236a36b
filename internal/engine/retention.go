package engine

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/retention"
)

// Keys a retention policy can group backups by.
const (
	GroupByHost   = "host"
	GroupBySource = "source"
	GroupByTags   = "tags"
)

// CheckGroupBy fails on a key that is not host, source or tags.
func CheckGroupBy(keys []string) error {
	for _, k := range keys {
		if k != GroupByHost && k != GroupBySource && k != GroupByTags {
			return fmt.Errorf("invalid group key %q: use host, source and tags", k)
		}
	}
	return nil
}

// Judged is one backup with the retention policy's verdict.
type Judged struct {
	ID      string    `json:"id"`
	ShortID string    `json:"short_id"`
	Time    time.Time `json:"time"`
	Tags    []string  `json:"tags"`
	Reasons []string  `json:"reasons,omitempty"`
}

// RetentionGroup is one group of backups judged together.
type RetentionGroup struct {
	Host   string   `json:"host,omitempty"`
	Source string   `json:"source,omitempty"`
	Tags   []string `json:"tags,omitempty"`
	Keep   []Judged `json:"keep"`
	Remove []Judged `json:"remove"`
}

// Retention is what a policy decides for a list of backups.
type Retention struct {
	Groups []RetentionGroup
	// Remove are the backups no rule keeps, in the order of Groups.
	Remove []repository.ID
}

// ApplyRetention judges backups by policy in groups of the same values of
// groupBy (none: one group), each group against its own newest backup;
// now is the current time. Both `forget` and `serve`'s jobs decide this
// way.
func ApplyRetention(policy retention.Policy, backups []repository.Backup, groupBy []string, now time.Time) Retention {
	byID := map[string]repository.Backup{}
	groups := map[string]*RetentionGroup{}
	var in []retention.Backup
	for _, b := range backups {
		key, grp := groupOf(b, groupBy)
		if groups[key] == nil {
			groups[key] = &grp
		}
		byID[b.ID.String()] = b
		in = append(in, retention.Backup{ID: b.ID.String(), Time: b.Time, Tags: b.Tags, Group: key})
	}
	var out Retention
	for _, d := range policy.Apply(in, now) {
		b := byID[d.ID]
		grp := groups[d.Group]
		e := Judged{ID: d.ID, ShortID: b.ID.Short(), Time: b.Time, Tags: b.Tags, Reasons: d.Reasons}
		if e.Tags == nil {
			e.Tags = []string{}
		}
		if d.Keep {
			grp.Keep = append(grp.Keep, e)
		} else {
			grp.Remove = append(grp.Remove, e)
			out.Remove = append(out.Remove, b.ID)
		}
	}
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out.Groups = make([]RetentionGroup, 0, len(keys))
	for _, k := range keys {
		grp := groups[k]
		if grp.Keep == nil {
			grp.Keep = []Judged{}
		}
		if grp.Remove == nil {
			grp.Remove = []Judged{}
		}
		out.Groups = append(out.Groups, *grp)
	}
	return out
}

// groupOf returns a backup's group key and the group's description.
func groupOf(b repository.Backup, groupBy []string) (string, RetentionGroup) {
	var grp RetentionGroup
	var key []string
	for _, k := range groupBy {
		switch k {
		case GroupByHost:
			grp.Host = b.Host()
			key = append(key, "host="+grp.Host)
		case GroupBySource:
			grp.Source = RootsString(b.Source)
			key = append(key, "source="+grp.Source)
		case GroupByTags:
			grp.Tags = slices.Sorted(slices.Values(b.Tags))
			key = append(key, "tags="+strings.Join(grp.Tags, ","))
		}
	}
	return strings.Join(key, "\x00"), grp
}

// SourceString names a backup's source: the node, or its catalog roots.
func SourceString(s repository.Source) string {
	if s.Node != "" {
		return "node " + s.Node
	}
	return s.Type + " " + RootsString(s)
}

// RootsString names the data a backup is of: its catalogs' data
// directories. Retention groups by it (with the host), so that backups of
// one node's root form one group whether they were taken live, through
// gRPC or HTTP, or offline.
func RootsString(s repository.Source) string {
	cats := make([]string, 0, len(s.Roots))
	for c, dir := range s.Roots {
		cats = append(cats, c+"="+dir)
	}
	sort.Strings(cats)
	return strings.Join(cats, " ")
}
