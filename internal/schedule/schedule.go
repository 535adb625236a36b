// Package schedule says when jobs fire: cron expressions and descriptors
// (@hourly, @daily, @weekly, @monthly, @yearly, @every 6h), parsed by
// github.com/robfig/cron/v3, and a Clock that the scheduler waits on, so
// that tests can run weeks of schedule on a fake clock in no time.
package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule gives a job's fire times.
type Schedule interface {
	// Next returns the first fire time strictly after t.
	Next(t time.Time) time.Time
	// String is the expression it was parsed from.
	String() string
}

// parser takes standard five-field cron expressions (minute hour
// day-of-month month day-of-week), an optional CRON_TZ=Zone prefix, and the
// descriptors @yearly, @monthly, @weekly, @daily, @hourly and @every D.
var parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

type parsed struct {
	cron.Schedule
	spec string
}

func (p parsed) String() string { return p.spec }

// Parse parses one expression. Cron fields are read in loc (nil: UTC)
// unless the expression starts with CRON_TZ=Zone.
func Parse(spec string, loc *time.Location) (Schedule, error) {
	s := strings.TrimSpace(spec)
	if s == "" {
		return nil, fmt.Errorf("empty schedule: want a cron expression such as \"0 3 * * *\" or @hourly, @daily, @weekly, @every 6h")
	}
	if loc == nil {
		loc = time.UTC
	}
	if rest, ok := strings.CutPrefix(s, "@every"); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d < time.Second {
			return nil, fmt.Errorf("cannot parse schedule %q: @every takes a duration of at least 1s, such as @every 6h", s)
		}
	}
	cs, err := parser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("cannot parse schedule %q: %v (want five cron fields, or @hourly, @daily, @weekly, @monthly, @yearly, @every DURATION)", s, err)
	}
	if spec, ok := cs.(*cron.SpecSchedule); ok && !strings.HasPrefix(s, "CRON_TZ=") && !strings.HasPrefix(s, "TZ=") {
		spec.Location = loc
	}
	return parsed{Schedule: cs, spec: s}, nil
}

// Set fires whenever any of its schedules fires.
type Set []Schedule

// Next implements Schedule: the earliest next fire time of the set.
func (s Set) Next(t time.Time) time.Time {
	var best time.Time
	for _, one := range s {
		n := one.Next(t)
		if !n.IsZero() && (best.IsZero() || n.Before(best)) {
			best = n
		}
	}
	return best
}

// String implements Schedule.
func (s Set) String() string {
	parts := make([]string, len(s))
	for i, one := range s {
		parts[i] = one.String()
	}
	return strings.Join(parts, ", ")
}

// FireTimes lists the fire times of s in (from, to], at most limit of them
// (limit ≤ 0: no limit).
func FireTimes(s Schedule, from, to time.Time, limit int) []time.Time {
	var out []time.Time
	for t := s.Next(from); !t.IsZero() && !t.After(to); t = s.Next(t) {
		out = append(out, t)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out
}
