package serve

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/banyan-backup/banyan-backup/internal/engine"
)

// Handler serves:
//
//	GET  /metrics                      Prometheus metrics
//	GET  /healthz                      200 {"status":"ok"} while the server runs
//	GET  /readyz                       200, or 503 with the reasons (Server.Readiness)
//	GET  /api/v1/jobs                  the jobs: schedule, next run, running, last run
//	GET  /api/v1/jobs/{job}/backups    the job's backups in each of its repositories
//	POST /api/v1/jobs/{job}/run        start a run now: 202, or 409 if one is going
//
// No answer holds a repository URL's credentials. Every request passes
// a's checks first: the API needs the token or a client certificate, unless
// a.NoAuth, and a Host header naming this server; no path takes a
// cross-origin request.
func (s *Server) Handler(a Access) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{Registry: s.m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if s.runCtx.Err() != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting down"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /api/v1/jobs", s.listJobs)
	mux.HandleFunc("GET /api/v1/jobs/{job}/backups", s.listBackups)
	mux.HandleFunc("POST /api/v1/jobs/{job}/run", s.runNow)
	return a.guard(mux)
}

// JobInfo is a job as GET /api/v1/jobs shows it.
type JobInfo struct {
	Name         string     `json:"name"`
	Schedule     string     `json:"schedule"`
	Node         string     `json:"node,omitempty"`
	Repositories []string   `json:"repositories"`
	Retention    string     `json:"retention,omitempty"`
	NextRun      time.Time  `json:"next_run,omitzero"`
	Running      bool       `json:"running"`
	Current      *RunRecord `json:"current,omitempty"`
	Progress     *Progress  `json:"progress,omitempty"`
	LastRun      *RunRecord `json:"last_run,omitempty"`
}

func (s *Server) jobInfo(j *job) JobInfo {
	info := JobInfo{Name: j.cfg.Name, Schedule: j.cfg.schedule.String(), Node: j.cfg.Source.Node}
	for _, r := range j.cfg.Repositories {
		info.Repositories = append(info.Repositories, r.Name)
	}
	if j.cfg.Retention != nil {
		info.Retention = j.cfg.Policy().String()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	info.NextRun, info.Running = j.next, j.busy
	if j.current != nil {
		c := *j.current
		c.Results = slices.Clone(c.Results)
		info.Current = &c
		p := j.progress.get()
		info.Progress = &p
	}
	if j.last != nil {
		l := *j.last
		info.LastRun = &l
	}
	return info
}

// Jobs lists the jobs' states.
func (s *Server) Jobs() []JobInfo {
	out := make([]JobInfo, 0, len(s.jobs))
	for _, j := range s.jobs {
		out = append(out, s.jobInfo(j))
	}
	return out
}

func (s *Server) listJobs(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"jobs": s.Jobs()})
}

// RepoBackups lists one repository's backups of a job.
type RepoBackups struct {
	Repository string          `json:"repository"`
	Backups    []engine.Backup `json:"backups"`
	Error      string          `json:"error,omitempty"`
}

func (s *Server) listBackups(w http.ResponseWriter, r *http.Request) {
	j := s.byName[r.PathValue("job")]
	if j == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such job: " + r.PathValue("job")})
		return
	}
	out := []RepoBackups{}
	for _, rc := range j.cfg.Repositories {
		rb := RepoBackups{Repository: rc.Name, Backups: []engine.Backup{}}
		err := func() error {
			repo, err := s.openRepo(r.Context(), rc.URL, nil)
			if err != nil {
				return err
			}
			defer repo.Close()
			backups, err := repo.Backups(r.Context())
			if err != nil {
				return err
			}
			for _, b := range backups {
				if !slices.Contains(b.Tags, JobTag(j.cfg.Name)) {
					continue
				}
				rb.Backups = append(rb.Backups, engine.Summarize(b))
			}
			return nil
		}()
		if err != nil {
			rb.Error = s.redact.String(err.Error())
		}
		out = append(out, rb)
	}
	writeJSON(w, http.StatusOK, map[string]any{"job": j.cfg.Name, "repositories": out})
}

func (s *Server) runNow(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("job")
	started, err := s.Trigger(name, "api")
	switch {
	case errors.Is(err, ErrUnknownJob):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": err.Error()})
	case !started:
		writeJSON(w, http.StatusConflict, map[string]any{"job": name, "started": false, "error": "a run of this job is still going; skipped"})
	default:
		writeJSON(w, http.StatusAccepted, map[string]any{"job": name, "started": true})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
