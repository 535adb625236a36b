package serve

import (
	"context"
	"slices"
)

// seedSuccesses reads, once at start, the newest backup of each job in each
// of its repositories, so that last_success_timestamp_seconds, has_succeeded
// and readiness carry over a restart. A repository that cannot be read is
// logged and left unknown: the job's first run reports what is wrong with it.
func (s *Server) seedSuccesses(ctx context.Context) {
	for _, j := range s.jobs {
		for _, rc := range j.cfg.Repositories {
			if ctx.Err() != nil {
				return
			}
			if err := s.seedOne(ctx, j, rc); err != nil {
				s.log.Warn("cannot read the job's last backup at start", "job", j.cfg.Name, "repository", rc.Name,
					"error", s.redact.String(err.Error()))
			}
		}
	}
}

func (s *Server) seedOne(ctx context.Context, j *job, rc RepositoryConfig) error {
	repo, err := s.openRepo(ctx, rc.URL, nil)
	if err != nil {
		return err
	}
	defer repo.Close()
	backups, err := repo.Backups(ctx)
	if err != nil {
		return err
	}
	for i := len(backups) - 1; i >= 0; i-- {
		if slices.Contains(backups[i].Tags, JobTag(j.cfg.Name)) {
			s.recordSuccess(j, rc.Name, backups[i].Time)
			return nil
		}
	}
	return nil
}
