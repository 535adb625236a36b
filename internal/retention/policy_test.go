package retention

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// zone is the "local time" of these tests: fixed, so that results do not
// depend on the machine, and away from UTC, so that a policy bucketing in
// UTC would give different days.
var zone = time.FixedZone("UTC+5", 5*3600)

// at parses "2006-01-02 15:04" in zone; backups record UTC.
func at(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, zone)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UTC()
}

func name(tm time.Time) string { return tm.In(zone).Format("2006-01-02 15:04") }

// kept returns the kept backups' local times, newest first, with reasons.
func kept(ds []Decision) map[string][]string {
	out := map[string][]string{}
	for _, d := range ds {
		if d.Keep {
			out[name(d.Time)] = d.Reasons
		}
	}
	return out
}

// TestSixtyDaysHourlyAndDaily runs an hourly schedule (every hour at :00)
// plus a daily one (02:15) over 60 days, 2026-03-01 to 2026-04-29, and
// applies keep-hourly 24, keep-daily 7, keep-weekly 4, keep-monthly 6.
//
// Worked out by hand (2026-03-01 is a Sunday, 2026-04-29 a Wednesday; ISO
// weeks start on Monday), newest first:
//   - hourly 24: every hour of 04-29, 23:00 back to 00:00; in hour 02 the
//     newest is the daily 02:15, so 02:00 is not kept.
//   - daily 7: 23:00 of 04-29, 04-28 … 04-23.
//   - weekly 4: 23:00 of 04-29 (week 27 Apr–3 May), 04-26, 04-19, 04-12
//     (Sundays, the last backups of their weeks).
//   - monthly 6: 04-29 23:00 (April), 03-31 23:00 (March); there are no
//     older months, so the oldest backup, 03-01 00:00, is kept too.
func TestSixtyDaysHourlyAndDaily(t *testing.T) {
	var backups []Backup
	start := at(t, "2026-03-01 00:00")
	for h := range 60 * 24 {
		tm := start.Add(time.Duration(h) * time.Hour)
		backups = append(backups, Backup{ID: fmt.Sprintf("h%04d", h), Time: tm})
		if tm.In(zone).Hour() == 2 {
			backups = append(backups, Backup{ID: fmt.Sprintf("d%04d", h), Time: tm.Add(15 * time.Minute)})
		}
	}
	if len(backups) != 1500 {
		t.Fatalf("schedule made %d backups, want 1440 hourly + 60 daily", len(backups))
	}
	want := map[string][]string{
		"2026-04-29 23:00": {"hourly snapshot", "daily snapshot", "weekly snapshot", "monthly snapshot"},
		"2026-04-29 02:15": {"hourly snapshot"},
		"2026-04-29 01:00": {"hourly snapshot"},
		"2026-04-29 00:00": {"hourly snapshot"},
		"2026-04-28 23:00": {"daily snapshot"},
		"2026-04-27 23:00": {"daily snapshot"},
		"2026-04-26 23:00": {"daily snapshot", "weekly snapshot"},
		"2026-04-25 23:00": {"daily snapshot"},
		"2026-04-24 23:00": {"daily snapshot"},
		"2026-04-23 23:00": {"daily snapshot"},
		"2026-04-19 23:00": {"weekly snapshot"},
		"2026-04-12 23:00": {"weekly snapshot"},
		"2026-03-31 23:00": {"monthly snapshot"},
		"2026-03-01 00:00": {"oldest monthly snapshot"},
	}
	for h := 3; h <= 22; h++ {
		want[fmt.Sprintf("2026-04-29 %02d:00", h)] = []string{"hourly snapshot"}
	}
	p := Policy{Hourly: 24, Daily: 7, Weekly: 4, Monthly: 6, Location: zone}
	got := kept(p.Apply(backups, at(t, "2026-04-30 00:10")))
	if len(got) != 34 || len(want) != 34 {
		t.Errorf("kept %d backups, want 34 (the table has %d)", len(got), len(want))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok {
			t.Errorf("%s not kept, want kept as %v", k, w)
		} else if !slices.Equal(g, w) {
			t.Errorf("%s kept as %v, want %v", k, g, w)
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s kept as %v, want removed", k, g)
		}
	}
}

func TestRules(t *testing.T) {
	// Six backups, newest first in the table: two on 06-10, one on each of
	// 06-09, 06-02, 05-31, and 2025-12-31.
	times := []string{"2026-06-10 18:00", "2026-06-10 09:00", "2026-06-09 12:00", "2026-06-02 12:00", "2026-05-31 12:00", "2025-12-31 23:30"}
	tags := map[string][]string{"2026-06-02 12:00": {"release", "v1"}, "2026-05-31 12:00": {"release"}}
	var backups []Backup
	for i, s := range times {
		backups = append(backups, Backup{ID: fmt.Sprint(i), Time: at(t, s), Tags: tags[s]})
	}
	now := at(t, "2026-06-11 00:00")
	for _, tc := range []struct {
		name   string
		policy Policy
		want   []string // kept, as "time: reasons"
	}{
		{"last 2", Policy{Last: 2}, []string{"2026-06-10 18:00: last snapshot", "2026-06-10 09:00: last snapshot"}},
		{"last more than there are", Policy{Last: 10}, []string{
			"2026-06-10 18:00: last snapshot", "2026-06-10 09:00: last snapshot", "2026-06-09 12:00: last snapshot",
			"2026-06-02 12:00: last snapshot", "2026-05-31 12:00: last snapshot", "2025-12-31 23:30: last snapshot"}},
		{"daily 2", Policy{Daily: 2}, []string{"2026-06-10 18:00: daily snapshot", "2026-06-09 12:00: daily snapshot"}},
		{"daily 5 keeps the oldest", Policy{Daily: 5}, []string{
			"2026-06-10 18:00: daily snapshot", "2026-06-09 12:00: daily snapshot", "2026-06-02 12:00: daily snapshot",
			"2026-05-31 12:00: daily snapshot", "2025-12-31 23:30: daily snapshot"}},
		// 06-10 and 06-09 are in ISO week 24, 06-02 in 23, 05-31 (Sunday) in 22.
		{"weekly 3", Policy{Weekly: 3}, []string{"2026-06-10 18:00: weekly snapshot", "2026-06-02 12:00: weekly snapshot", "2026-05-31 12:00: weekly snapshot"}},
		{"monthly unlimited", Policy{Monthly: -1}, []string{"2026-06-10 18:00: monthly snapshot", "2026-05-31 12:00: monthly snapshot", "2025-12-31 23:30: monthly snapshot"}},
		{"yearly 1", Policy{Yearly: 1}, []string{"2026-06-10 18:00: yearly snapshot"}},
		{"yearly 3", Policy{Yearly: 3}, []string{"2026-06-10 18:00: yearly snapshot", "2025-12-31 23:30: yearly snapshot"}},
		{"hourly 2", Policy{Hourly: 2}, []string{"2026-06-10 18:00: hourly snapshot", "2026-06-10 09:00: hourly snapshot"}},
		// Relative to the newest backup (06-10 18:00), not to now.
		{"within 1d", Policy{Within: Duration{Days: 1}}, []string{"2026-06-10 18:00: within 1d", "2026-06-10 09:00: within 1d"}},
		// Exactly 1d6h before the newest is not within (restic's rule).
		{"within 1d6h", Policy{Within: Duration{Days: 1, Hours: 6}}, []string{"2026-06-10 18:00: within 1d6h", "2026-06-10 09:00: within 1d6h"}},
		{"within 1d7h", Policy{Within: Duration{Days: 1, Hours: 7}}, []string{"2026-06-10 18:00: within 1d7h", "2026-06-10 09:00: within 1d7h", "2026-06-09 12:00: within 1d7h"}},
		// Calendar months: 5 months before 06-10 is 01-10.
		{"within 5m", Policy{Within: Duration{Months: 5}}, []string{
			"2026-06-10 18:00: within 5m", "2026-06-10 09:00: within 5m", "2026-06-09 12:00: within 5m",
			"2026-06-02 12:00: within 5m", "2026-05-31 12:00: within 5m"}},
		{"tag lists", Policy{Tags: [][]string{{"release", "v1"}, {"nope"}}}, []string{"2026-06-02 12:00: has tags [release v1]"}},
		{"tag or daily", Policy{Daily: 1, Tags: [][]string{{"release"}}}, []string{
			"2026-06-10 18:00: daily snapshot", "2026-06-02 12:00: has tags [release]", "2026-05-31 12:00: has tags [release]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.policy.Location = zone
			var got []string
			removed := 0
			for _, d := range tc.policy.Apply(backups, now) {
				if d.Keep {
					got = append(got, name(d.Time)+": "+strings.Join(d.Reasons, ", "))
				} else {
					removed++
					if len(d.Reasons) > 0 {
						t.Errorf("removed %s has reasons %v", name(d.Time), d.Reasons)
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("kept\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if removed+len(got) != len(backups) {
				t.Errorf("%d kept + %d removed != %d backups", len(got), removed, len(backups))
			}
		})
	}
}

func TestLocalCalendar(t *testing.T) {
	// 18:00 and 20:00 UTC on 06-01 are 23:00 on 06-01 and 01:00 on 06-02
	// in UTC+5: one day in UTC, two local days.
	a := time.Date(2026, 6, 1, 18, 0, 0, 0, time.UTC)
	b := time.Date(2026, 6, 1, 20, 0, 0, 0, time.UTC)
	backups := []Backup{{ID: "a", Time: a}, {ID: "b", Time: b}, {ID: "c", Time: a.Add(-time.Hour)}}
	for _, tc := range []struct {
		loc  *time.Location
		want []string
	}{
		// In UTC all three share one day: b is kept, and c as the oldest
		// while days are left.
		{time.UTC, []string{"b:daily snapshot", "a:", "c:oldest daily snapshot"}},
		// In UTC+5 a and c (22:00 local) share 06-01, b is on 06-02.
		{zone, []string{"b:daily snapshot", "a:daily snapshot", "c:oldest daily snapshot"}},
	} {
		var got []string
		for _, d := range (Policy{Daily: 3, Location: tc.loc}).Apply(backups, b) {
			got = append(got, d.ID+":"+strings.Join(d.Reasons, ","))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("daily 3 in %s gave %v, want %v", tc.loc, got, tc.want)
		}
	}
}

func TestGroupsAndFuture(t *testing.T) {
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	backups := []Backup{
		{ID: "a1", Group: "a", Time: now.Add(-48 * time.Hour)},
		{ID: "a2", Group: "a", Time: now.Add(-47 * time.Hour)},
		{ID: "b1", Group: "b", Time: now.Add(-time.Hour)},
		{ID: "b2", Group: "b", Time: now.Add(time.Hour)}, // clock skew: in the future
	}
	var got []string
	for _, d := range (Policy{Within: Duration{Hours: 2}, Location: time.UTC}).Apply(backups, now) {
		if d.Keep {
			got = append(got, d.ID)
		}
	}
	// Group a is judged against its own newest (a2), so a stopped source
	// keeps its history; in group b the future b2 is not "the newest", b1
	// is, and b2 (after it) is within.
	if want := []string{"a2", "a1", "b2", "b1"}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
}

func TestValidateAndString(t *testing.T) {
	if err := (Policy{Daily: -2}).Validate(); err == nil || !strings.Contains(err.Error(), "keep-daily") {
		t.Errorf("Validate of daily -2 = %v", err)
	}
	if err := (Policy{Tags: [][]string{{}}}).Validate(); err == nil {
		t.Error("Validate accepted an empty tag list")
	}
	if !(Policy{}).Empty() || (Policy{Tags: [][]string{{"x"}}}).Empty() {
		t.Error("Empty is wrong")
	}
	s := Policy{Daily: 7, Monthly: -1, Within: Duration{Days: 30}, Tags: [][]string{{"a", "b"}}}.String()
	if want := "keep 7 daily, all monthly, all within 30d of the newest, all tagged a,b"; s != want {
		t.Errorf("String = %q, want %q", s, want)
	}
}
