package serve

import (
	"net/http"
	"sort"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/schedule"
)

// intervalHorizon is how far ahead scheduleInterval looks for the longest
// gap between fire times; maxIntervalFires caps the fire times it visits
// (an @every 1s schedule has 2.7 million in 31 days).
const (
	intervalHorizon  = 31 * 24 * time.Hour
	maxIntervalFires = 2000
)

// scheduleInterval is the longest gap between consecutive fire times of s
// from `from` on, over the next 31 days (and at least two gaps, so that a
// monthly or yearly schedule gets its own period). Readiness and the
// alert rules allow two of these between successes.
func scheduleInterval(s schedule.Schedule, from time.Time) time.Duration {
	var longest time.Duration
	prev := s.Next(from)
	if prev.IsZero() {
		return 0
	}
	end := from.Add(intervalHorizon)
	for i := 0; i < maxIntervalFires; i++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
		if i >= 1 && prev.After(end) {
			break
		}
	}
	return longest
}

// recordSuccess notes a successful backup of job j into repository repo at
// t, unless a later one is known already.
func (s *Server) recordSuccess(j *job, repo string, t time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !t.After(j.lastOK[repo]) {
		return
	}
	j.lastOK[repo] = t
	s.m.lastSuccess.WithLabelValues(j.cfg.Name, repo).Set(float64(t.UnixNano()) / 1e9)
	s.m.succeeded.WithLabelValues(j.cfg.Name, repo).Set(1)
}

// Unready is one reason the server is not ready, as GET /readyz lists it.
type Unready struct {
	Job        string `json:"job"`
	Repository string `json:"repository,omitempty"`
	Reason     string `json:"reason"`
}

// Readiness says why the server is not ready (nil: it is). For every job
// and each of its repositories:
//
//   - the job's last finished run failed in that repository; or
//   - no success is known within two schedule intervals: the last success
//     (this server's, or the newest backup of the job found in the
//     repository at start) is older than that, or none is known and the
//     server started longer ago than that.
//
// A run going on changes nothing until it ends. A server shutting down is
// not ready either.
func (s *Server) Readiness() []Unready {
	var out []Unready
	if s.runCtx.Err() != nil {
		return []Unready{{Reason: "shutting down"}}
	}
	now := s.clock.Now()
	for _, j := range s.jobs {
		window := 2 * j.interval
		j.mu.Lock()
		failed := map[string]string{}
		if j.last != nil {
			for _, r := range j.last.Results {
				if r.Error != "" {
					failed[r.Repository] = r.Kind
				}
			}
		}
		for _, rc := range j.cfg.Repositories {
			u := Unready{Job: j.cfg.Name, Repository: rc.Name}
			last, ok := j.lastOK[rc.Name]
			switch kind, bad := failed[rc.Name]; {
			case bad:
				u.Reason = "the last run failed (" + kind + ")"
			case ok && now.Sub(last) > window:
				u.Reason = "no successful backup since " + last.UTC().Format(time.RFC3339) + ", more than two schedule intervals (" + window.String() + ") ago"
			case !ok && now.Sub(s.started) > window:
				u.Reason = "no successful backup known, and the server started more than two schedule intervals (" + window.String() + ") ago"
			default:
				continue
			}
			out = append(out, u)
		}
		j.mu.Unlock()
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Job != out[b].Job {
			return out[a].Job < out[b].Job
		}
		return out[a].Repository < out[b].Repository
	})
	return out
}

// readyz answers 200 {"status":"ready"}, or 503 with the reasons.
func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if why := s.Readiness(); len(why) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reasons": why})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
