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

// Judged is one backup, or one backup set, with the retention policy's
// verdict.
type Judged struct {
	ID      string    `json:"id"`
	ShortID string    `json:"short_id"`
	Time    time.Time `json:"time"`
	Tags    []string  `json:"tags"`
	Reasons []string  `json:"reasons,omitempty"`
	// Set is true for a backup set, judged as one unit; Members are its
	// node backups, kept or removed with it.
	Set     bool     `json:"set,omitempty"`
	Members []string `json:"members,omitempty"`
}

// RetentionGroup is one group of backups, or of backup sets, judged
// together.
type RetentionGroup struct {
	// Sets is true for a group of backup sets, Cluster their cluster
	// (with --group-by host).
	Sets    bool     `json:"sets,omitempty"`
	Cluster string   `json:"cluster,omitempty"`
	Host    string   `json:"host,omitempty"`
	Source  string   `json:"source,omitempty"`
	Tags    []string `json:"tags,omitempty"`
	Keep    []Judged `json:"keep"`
	Remove  []Judged `json:"remove"`
}

// Retention is what a policy decides for a list of backups and sets.
type Retention struct {
	Groups []RetentionGroup
	// Remove are the single-node backups no rule keeps, in the order of
	// Groups.
	Remove []repository.ID
	// RemoveSets are the sets no rule keeps: each goes whole, with its
	// members (repository.RemoveSets).
	RemoveSets []repository.ID
}

// candidate is one unit retention judges: a backup or a set.
type candidate struct {
	id   repository.ID
	time time.Time
	tags []string
	set  *repository.BackupSet
}

// ApplyRetention judges backups and sets by policy in groups of the same
// values of groupBy (none: one group of backups, one of sets), each group
// against its own newest member; now is the current time. A set is one
// unit, judged by its time and tags in groups of sets of its cluster; the
// backups of a cluster backup (repository.Manifest.ClusterOperation) are
// never judged on their own, so a policy never keeps half a set. Both
// `forget` and `serve`'s jobs decide this way.
func ApplyRetention(policy retention.Policy, backups []repository.Backup, sets []repository.BackupSet, groupBy []string, now time.Time) Retention {
	byID := map[string]candidate{}
	groups := map[string]*RetentionGroup{}
	var in []retention.Backup
	add := func(c candidate, key string, grp RetentionGroup) {
		if groups[key] == nil {
			groups[key] = &grp
		}
		byID[c.id.String()] = c
		in = append(in, retention.Backup{ID: c.id.String(), Time: c.time, Tags: c.tags, Group: key})
	}
	for _, b := range backups {
		if b.ClusterOperation != "" {
			continue // a member: judged with its set, or an orphan for prune
		}
		key, grp := groupOf(b, groupBy)
		add(candidate{id: b.ID, time: b.Time, tags: b.Tags}, key, grp)
	}
	for i := range sets {
		key, grp := setGroupOf(sets[i], groupBy)
		add(candidate{id: sets[i].ID, time: sets[i].Time, tags: sets[i].Tags, set: &sets[i]}, key, grp)
	}
	var out Retention
	for _, d := range policy.Apply(in, now) {
		c := byID[d.ID]
		grp := groups[d.Group]
		e := judged(c, d.Reasons)
		switch {
		case d.Keep:
			grp.Keep = append(grp.Keep, e)
		case c.set != nil:
			grp.Remove = append(grp.Remove, e)
			out.RemoveSets = append(out.RemoveSets, c.id)
		default:
			grp.Remove = append(grp.Remove, e)
			out.Remove = append(out.Remove, c.id)
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

// judged describes a candidate and its reasons.
func judged(c candidate, reasons []string) Judged {
	e := Judged{ID: c.id.String(), ShortID: c.id.Short(), Time: c.time, Tags: c.tags, Reasons: reasons}
	if e.Tags == nil {
		e.Tags = []string{}
	}
	if c.set != nil {
		e.Set = true
		for _, m := range c.set.Members() {
			e.Members = append(e.Members, m.String())
		}
	}
	return e
}

// setGroupOf returns a set's group key and the group's description: the
// cluster stands for the host, and sets have one source; sets never share
// a group with single-node backups.
func setGroupOf(s repository.BackupSet, groupBy []string) (string, RetentionGroup) {
	grp := RetentionGroup{Sets: true}
	key := []string{"set"}
	for _, k := range groupBy {
		switch k {
		case GroupByHost:
			grp.Cluster = s.Cluster
			key = append(key, "cluster="+s.Cluster)
		case GroupByTags:
			grp.Tags = slices.Sorted(slices.Values(s.Tags))
			key = append(key, "tags="+strings.Join(grp.Tags, ","))
		}
	}
	return strings.Join(key, "\x00"), grp
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
