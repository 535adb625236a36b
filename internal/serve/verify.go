package serve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/schedule"
)

// verifyLoop verifies the job's repositories at each time of its verify
// schedule.
func (s *Server) verifyLoop(ctx context.Context, j *job) {
	schedule.Loop(ctx, s.clock, j.cfg.Verify.schedule, func(time.Time) {
		_, _ = s.TriggerVerify(j.cfg.Name)
	})
}

// TriggerVerify starts a verification of each of the job's repositories
// now, one after the other, unless one of the job's is going: then it is
// skipped, logged, and TriggerVerify returns false.
func (s *Server) TriggerVerify(name string) (bool, error) {
	j := s.byName[name]
	if j == nil || j.cfg.Verify == nil {
		return false, fmt.Errorf("%w with a verify schedule: %q", ErrUnknownJob, name)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.runCtx.Err() != nil {
		return false, errors.New("cannot start a verification: the server is shutting down")
	}
	j.mu.Lock()
	if j.verifying {
		j.mu.Unlock()
		s.log.Warn("verify skipped: the previous one is still going", "job", name)
		return false, nil
	}
	j.verifying = true
	j.mu.Unlock()
	s.running.Add(1)
	go func() {
		defer s.running.Done()
		for _, rc := range j.cfg.Repositories {
			s.verifyRepo(s.runCtx, j, rc)
		}
		j.mu.Lock()
		j.verifying = false
		j.mu.Unlock()
	}()
	return true, nil
}

// verifyRepo verifies one repository and records the outcome: a failure to
// verify, or any problem found, counts in verify_failures_total; a clean
// verification sets verify_last_success_timestamp_seconds.
func (s *Server) verifyRepo(ctx context.Context, j *job, rc RepositoryConfig) {
	name := j.cfg.Name
	lg := s.log.With("job", name, "repository", rc.Name)
	start := time.Now()
	lg.Info("verify started", "read_data", j.cfg.Verify.ReadData)
	res, err := s.verifyOnce(ctx, j, rc)
	secs := time.Since(start).Seconds()
	switch {
	case err != nil:
		s.m.verifyFailures.WithLabelValues(name, rc.Name).Inc()
		lg.Error("verify failed", "error", s.redact.String(err.Error()), "seconds", secs)
	case len(res.Problems) > 0:
		s.m.verifyFailures.WithLabelValues(name, rc.Name).Inc()
		s.m.verifyProblems.WithLabelValues(name, rc.Name).Set(float64(len(res.Problems)))
		lg.Error("verify found problems", "problems", len(res.Problems), "first", res.Problems[0].String(), "seconds", secs)
	default:
		s.m.verifyProblems.WithLabelValues(name, rc.Name).Set(0)
		s.m.verifyLastSuccess.WithLabelValues(name, rc.Name).Set(float64(s.clock.Now().UnixNano()) / 1e9)
		lg.Info("verify finished", "backups", res.Backups, "packs", res.Packs, "packs_read", res.PacksRead, "seconds", secs)
	}
}

func (s *Server) verifyOnce(ctx context.Context, j *job, rc RepositoryConfig) (*repository.VerifyResult, error) {
	repo, err := s.openRepo(ctx, rc.URL, j)
	if err != nil {
		return nil, err
	}
	defer repo.Close()
	lock, err := repo.Lock(ctx, "verify", false)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock(context.WithoutCancel(ctx))
	return repo.Verify(ctx, repository.VerifyOptions{ReadData: j.cfg.Verify.ReadData})
}
