// Package retention decides which backups a retention policy keeps, with
// restic's semantics, which users know: backups are grouped (by host and
// source), and within a group every rule looks at the backups newest first;
// a backup kept by any rule is kept, and every rule that keeps it is named.
//
//   - keep-last N keeps the N newest backups.
//   - keep-hourly/daily/weekly/monthly/yearly N keeps the newest backup of
//     each of the N newest hours, days, ISO weeks, months or years (calendar
//     buckets in the policy's time zone) that have a backup. When a rule
//     has buckets left over after the oldest backup, the oldest backup is
//     kept too (it is the oldest history there is).
//   - keep-within D keeps every backup taken less than D before the newest
//     backup of its group (not before now: a repository that stopped
//     receiving backups does not lose them all).
//   - keep-tag keeps every backup that has all the tags of a tag list.
//
// A count of -1 means unlimited (every bucket).
package retention

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Policy is a retention policy. The zero Policy keeps everything and is
// refused by Apply's callers (Empty).
type Policy struct {
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	// Within keeps the backups taken within this duration of the newest.
	Within Duration
	// Tags keeps backups having every tag of any one of these lists.
	Tags [][]string
	// Location is the time zone of the calendar buckets; nil means Local.
	Location *time.Location
}

// Empty reports whether the policy has no rule.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 && p.Yearly == 0 &&
		p.Within.Zero() && len(p.Tags) == 0
}

// Validate checks the counts.
func (p Policy) Validate() error {
	for _, r := range p.rules() {
		if r.count < -1 {
			return fmt.Errorf("invalid retention policy: keep-%s is %d; give a count of 0 or more, or -1 for unlimited", r.name, r.count)
		}
	}
	for _, l := range p.Tags {
		if len(l) == 0 {
			return fmt.Errorf("invalid retention policy: an empty keep-tag list; give one or more tags separated by commas")
		}
	}
	return nil
}

// String describes the policy, e.g. "keep 7 daily, 4 weekly, within 30d".
func (p Policy) String() string {
	var parts []string
	for _, r := range p.rules() {
		switch {
		case r.count > 0:
			parts = append(parts, fmt.Sprintf("%d %s", r.count, r.name))
		case r.count == -1:
			parts = append(parts, "all "+r.name)
		}
	}
	if !p.Within.Zero() {
		parts = append(parts, "all within "+p.Within.String()+" of the newest")
	}
	for _, l := range p.Tags {
		parts = append(parts, "all tagged "+strings.Join(l, ","))
	}
	if len(parts) == 0 {
		return "keep everything (no policy)"
	}
	return "keep " + strings.Join(parts, ", ")
}

// rule is one counted bucket rule.
type rule struct {
	name   string
	count  int
	bucket func(t time.Time, nr int) int
}

func (p Policy) rules() []rule {
	return []rule{
		{"last", p.Last, func(_ time.Time, nr int) int { return nr }},
		{"hourly", p.Hourly, func(t time.Time, _ int) int {
			return t.Year()*1000000 + int(t.Month())*10000 + t.Day()*100 + t.Hour()
		}},
		{"daily", p.Daily, func(t time.Time, _ int) int { return t.Year()*10000 + int(t.Month())*100 + t.Day() }},
		{"weekly", p.Weekly, func(t time.Time, _ int) int { y, w := t.ISOWeek(); return y*100 + w }},
		{"monthly", p.Monthly, func(t time.Time, _ int) int { return t.Year()*100 + int(t.Month()) }},
		{"yearly", p.Yearly, func(t time.Time, _ int) int { return t.Year() }},
	}
}

// Backup is what the policy looks at.
type Backup struct {
	ID   string
	Time time.Time
	Tags []string
	// Group: backups of different groups (host and source) are judged
	// separately, each against its own newest backup.
	Group string
}

// Decision is the verdict on one backup.
type Decision struct {
	Backup
	Keep bool
	// Reasons names every rule that keeps the backup ("daily snapshot",
	// "within 30d", "has tags [a b]", "oldest monthly snapshot").
	Reasons []string
}

// Apply judges backups by the policy. now is the current time: backups
// after it (clock skew) are not taken as the newest for keep-within. The
// result is ordered by group, then newest first. Apply does not modify
// backups.
func (p Policy) Apply(backups []Backup, now time.Time) []Decision {
	groups := map[string][]Backup{}
	var names []string
	for _, b := range backups {
		if _, ok := groups[b.Group]; !ok {
			names = append(names, b.Group)
		}
		groups[b.Group] = append(groups[b.Group], b)
	}
	sort.Strings(names)
	var out []Decision
	for _, g := range names {
		out = append(out, p.applyGroup(groups[g], now)...)
	}
	return out
}

func (p Policy) applyGroup(list []Backup, now time.Time) []Decision {
	list = slices.Clone(list)
	sort.SliceStable(list, func(i, j int) bool {
		if !list[i].Time.Equal(list[j].Time) {
			return list[i].Time.After(list[j].Time)
		}
		return list[i].ID > list[j].ID
	})
	loc := p.Location
	if loc == nil {
		loc = time.Local
	}
	newest := list[0].Time
	for _, b := range list {
		if !b.Time.After(now) {
			newest = b.Time
			break
		}
	}
	rules := p.rules()
	left := make([]int, len(rules))
	last := make([]int, len(rules))
	for i, r := range rules {
		left[i], last[i] = r.count, -1
	}
	out := make([]Decision, 0, len(list))
	for nr, b := range list {
		d := Decision{Backup: b}
		for _, tags := range p.Tags {
			if hasTags(b.Tags, tags) {
				d.Reasons = append(d.Reasons, fmt.Sprintf("has tags [%s]", strings.Join(tags, " ")))
			}
		}
		if !p.Within.Zero() && b.Time.After(p.Within.Before(newest)) {
			d.Reasons = append(d.Reasons, "within "+p.Within.String())
		}
		local := b.Time.In(loc)
		oldest := nr == len(list)-1
		for i, r := range rules {
			if left[i] == 0 {
				continue
			}
			v := r.bucket(local, nr)
			switch {
			case v != last[i]:
				d.Reasons = append(d.Reasons, r.name+" snapshot")
			case oldest:
				d.Reasons = append(d.Reasons, "oldest "+r.name+" snapshot")
			default:
				continue
			}
			last[i] = v
			if left[i] > 0 {
				left[i]--
			}
		}
		d.Keep = len(d.Reasons) > 0
		out = append(out, d)
	}
	return out
}

// hasTags reports whether have includes every tag of want.
func hasTags(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
