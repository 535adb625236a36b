package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/buildinfo"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/redact"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/schedule"
)

// Options are what a Server needs besides its config.
type Options struct {
	// Clock drives the schedules and stamps the backups; nil: the wall clock.
	Clock schedule.Clock
	// Logger receives structured logs; nil: none.
	Logger *slog.Logger
	// Store says how to reach the repositories (object stores' options,
	// the cache directory); each job sets its own limits, and the
	// server its clock and LockWait.
	Store engine.StoreOptions
	// Limits apply to every job that sets none of its own (limits.upload and
	// the others in the config take precedence, each on its own).
	Upload, Download, Read *ratelimit.Limiter
	Workers                int
	ToolVersion            string
	// Build labels banyan_backup_build_info.
	Build buildinfo.Info
	// LockWait is how long a job waits for a repository lock another
	// process holds (a prune, say) before the run fails.
	LockWait time.Duration
	// Secrets are hidden in logs and answers besides the credentials of
	// the jobs' repository URLs, which the server adds: the object stores'
	// endpoint URLs, their environment variables' credentials (nil: none).
	Secrets *redact.Redactor
}

// openRepo opens the repository at url for job j (nil: with no limits).
func (s *Server) openRepo(ctx context.Context, url string, j *job) (*engine.Repo, error) {
	o := s.opts.Store
	o.Repository.Clock, o.Repository.LockWait = s.clock.Now, s.opts.LockWait
	creds, err := s.credentialsFor(url)
	if err != nil {
		return nil, err
	}
	o.Repository.Credentials = creds
	if j != nil {
		o.Stack.Upload, o.Stack.Download = j.upload, j.download
	}
	return engine.Open(ctx, url, o)
}

// credentialsFor reads the password or key file the config gives for the
// repository at url.
func (s *Server) credentialsFor(url string) (*repository.Credentials, error) {
	for _, j := range s.cfg.Jobs {
		for _, rc := range j.Repositories {
			if rc.URL == url && (rc.PasswordFile != "" || rc.KeyFile != "") {
				return rc.credentials()
			}
		}
	}
	return nil, nil
}

// Server runs a config's jobs.
type Server struct {
	cfg     *Config
	opts    Options
	clock   schedule.Clock
	log     *slog.Logger
	m       *metrics
	jobs    []*job
	byName  map[string]*job
	redact  *redact.Redactor // read-only once New returns
	runCtx  context.Context
	stop    context.CancelFunc
	started time.Time
	running sync.WaitGroup
	mu      sync.Mutex // guards closing and running.Add
	closing bool
}

// job is one configured job and its state.
type job struct {
	cfg                    JobConfig
	upload, download, read *ratelimit.Limiter
	workers                int
	progress               progressReporter
	// interval is the schedule's longest gap between fire times
	// (scheduleInterval): readiness allows two between successes.
	interval time.Duration

	mu      sync.Mutex
	busy    bool
	next    time.Time
	last    *RunRecord
	current *RunRecord
	lastOK  map[string]time.Time // by repository name: the last success known

	verifying bool // a verification of the job's repositories is going
}

// New checks nothing more than LoadConfig did and starts no goroutine:
// call Run.
func New(cfg *Config, opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = schedule.Real{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, opts: opts, clock: opts.Clock, log: opts.Logger, m: newMetrics(opts.Build), byName: map[string]*job{},
		redact: newRedactor(cfg, opts.Secrets)}
	s.runCtx, s.stop = context.WithCancel(context.Background())
	s.started = s.clock.Now()
	for _, jc := range cfg.Jobs {
		j := &job{cfg: jc, upload: opts.Upload, download: opts.Download, read: opts.Read, workers: opts.Workers,
			interval: scheduleInterval(jc.schedule, s.started), lastOK: map[string]time.Time{}}
		if jc.Limits.upload > 0 {
			j.upload = ratelimit.New(jc.Limits.upload)
		}
		if jc.Limits.download > 0 {
			j.download = ratelimit.New(jc.Limits.download)
		}
		if jc.Limits.read > 0 {
			j.read = ratelimit.New(jc.Limits.read)
		}
		if jc.Limits.Concurrency > 0 {
			j.workers = jc.Limits.Concurrency
		}
		s.jobs = append(s.jobs, j)
		s.byName[jc.Name] = j
		var repos []string
		for _, r := range jc.Repositories {
			repos = append(repos, r.Name)
		}
		s.m.initJob(jc.Name, repos, j.interval.Seconds())
		if jc.Verify != nil {
			s.m.initVerify(jc.Name, repos, scheduleInterval(jc.Verify.schedule, s.started).Seconds())
		}
	}
	return s
}

// Run fires the jobs on their schedules until ctx is done. Then it lets
// running backups go on for grace, cancels those still going (they abort
// without writing a manifest: nothing half-written is listed) and returns
// once all have stopped.
func (s *Server) Run(ctx context.Context, grace time.Duration) {
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		s.seedSuccesses(s.runCtx)
	}()
	var loops sync.WaitGroup
	for _, j := range s.jobs {
		loops.Add(1)
		go func() {
			defer loops.Done()
			s.loop(ctx, j)
		}()
		if j.cfg.Verify != nil {
			loops.Add(1)
			go func() {
				defer loops.Done()
				s.verifyLoop(ctx, j)
			}()
		}
	}
	<-ctx.Done()
	loops.Wait()
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.log.Info("shutting down", "grace_seconds", grace.Seconds())
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(grace):
		s.log.Warn("cancelling running backups: the shutdown grace period is over")
		s.stop()
		<-done
	}
	s.stop()
}

// newRedactor returns a Redactor that hides what base does and the
// credentials of every repository URL of the config.
func newRedactor(cfg *Config, base *redact.Redactor) *redact.Redactor {
	r := base.Clone()
	for _, j := range cfg.Jobs {
		for _, rc := range j.Repositories {
			r.AddURL(rc.URL)
		}
	}
	return r
}

// loop fires one job at each of its schedule's times.
func (s *Server) loop(ctx context.Context, j *job) {
	s.setNext(j, j.cfg.schedule.Next(s.clock.Now()))
	schedule.Loop(ctx, s.clock, j.cfg.schedule, func(at time.Time) {
		s.setNext(j, j.cfg.schedule.Next(at))
		s.Trigger(j.cfg.Name, "schedule")
	})
}

func (s *Server) setNext(j *job, t time.Time) {
	j.mu.Lock()
	j.next = t
	j.mu.Unlock()
	s.m.nextRun.WithLabelValues(j.cfg.Name).Set(float64(t.Unix()))
}

// ErrUnknownJob is returned by Trigger for a name not in the config.
var ErrUnknownJob = errors.New("no such job")

// Trigger starts a run of the job now, unless one is going: then the run
// is skipped, logged and counted (runs_skipped_total{reason="overlap"}),
// and Trigger returns false.
func (s *Server) Trigger(name, trigger string) (bool, error) {
	j := s.byName[name]
	if j == nil {
		return false, fmt.Errorf("%w: %q", ErrUnknownJob, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.runCtx.Err() != nil {
		return false, errors.New("cannot start a run: the server is shutting down")
	}
	j.mu.Lock()
	if j.busy {
		j.mu.Unlock()
		s.m.skipped.WithLabelValues(name, "overlap").Inc()
		s.log.Warn("run skipped: the previous run is still going", "job", name, "trigger", trigger)
		return false, nil
	}
	j.busy = true
	rec := &RunRecord{Job: name, Trigger: trigger, Start: s.clock.Now(), Results: []RepoResult{}}
	j.current = rec
	s.running.Add(1)
	j.mu.Unlock()
	s.m.runs.WithLabelValues(name, trigger).Inc()
	s.m.running.WithLabelValues(name).Set(1)
	go func() {
		defer s.running.Done()
		s.runJob(s.runCtx, j, rec)
		j.mu.Lock()
		j.busy, j.current, j.last = false, nil, rec
		j.mu.Unlock()
		s.m.running.WithLabelValues(name).Set(0)
	}()
	return true, nil
}

// Wait blocks until no run is going and the start's read of each job's last
// backup is done (for tests and the API's callers).
func (s *Server) Wait() { s.running.Wait() }

// Close cancels running backups at once.
func (s *Server) Close() { s.stop() }
