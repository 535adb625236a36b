package serve

import (
	"context"
	"slices"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/retention"
)

// Policy is the job's retention policy (zero when it has none).
func (j *JobConfig) Policy() retention.Policy {
	r := j.Retention
	if r == nil {
		return retention.Policy{}
	}
	p := retention.Policy{Last: r.KeepLast, Hourly: r.KeepHourly, Daily: r.KeepDaily, Weekly: r.KeepWeekly,
		Monthly: r.KeepMonthly, Yearly: r.KeepYearly, Location: time.UTC}
	if j.TimeZone != "" {
		if loc, err := time.LoadLocation(j.TimeZone); err == nil {
			p.Location = loc
		}
	}
	if r.KeepWithin != "" {
		p.Within, _ = retention.ParseDuration(r.KeepWithin) // checked by LoadConfig
	}
	return p
}

// applyRetention forgets the job's backups (those tagged job=NAME; other
// backups in the repository are not looked at) that its policy does not
// keep, and prunes when the policy says so. It returns how many backups it
// forgot.
func (s *Server) applyRetention(ctx context.Context, j *JobConfig, repo *repository.Repository) (int, error) {
	backups, err := repo.Backups(ctx)
	if err != nil {
		return 0, err
	}
	backups = slices.DeleteFunc(backups, func(b repository.Backup) bool { return !slices.Contains(b.Tags, JobTag(j.Name)) })
	// A job has one source: its backups are judged as one group. A job's
	// backups are of one node, never members of a set.
	forget := engine.ApplyRetention(j.Policy(), backups, nil, nil, s.clock.Now()).Remove
	if len(forget) == 0 {
		return 0, nil
	}
	lock, err := repo.Lock(ctx, "forget", true)
	if err != nil {
		return 0, err
	}
	defer lock.Unlock(context.WithoutCancel(ctx))
	if err := repo.RemoveBackups(ctx, lock, forget); err != nil {
		return 0, err
	}
	if j.Retention.Prune {
		if _, err := repo.Prune(ctx, lock, repository.PruneOptions{}); err != nil {
			return len(forget), err
		}
	}
	return len(forget), nil
}
