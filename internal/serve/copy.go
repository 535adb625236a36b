package serve

import (
	"context"
	"fmt"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// runBackup is the backup a run took, which the job's later repositories
// get a copy of.
type runBackup struct {
	repo RepositoryConfig
	id   string
}

// tookBackup returns the backup the run saved into rc, or nil when it
// saved none (a failed retention after the backup still counts as saved).
func tookBackup(rc RepositoryConfig, res RepoResult) *runBackup {
	if res.Backup == nil {
		return nil
	}
	return &runBackup{repo: rc, id: res.Backup.ID}
}

// copyInto copies the run's backup from the repository it was taken into
// to rc (backup.Copy: only the blobs rc lacks, then the manifest; the same
// root tree), then applies the retention policy and updates the metrics
// as backupInto does. Nothing is read from the node: bytes_read_total does
// not grow.
func (s *Server) copyInto(ctx context.Context, j *job, rc RepositoryConfig, from runBackup) RepoResult {
	res := RepoResult{Repository: rc.Name, CopiedFrom: from.repo.Name}
	name := j.cfg.Name
	start := time.Now()
	lg := s.log.With("job", name, "repository", rc.Name, "from", from.repo.Name)
	var dst *engine.Repo // counts uploaded_bytes_total
	j.progress.begin(rc.Name)
	err := func() error {
		var err error
		if dst, err = s.openRepo(ctx, rc.URL, j); err != nil {
			return &stageError{openFailureKind(err), err}
		}
		defer dst.Close()
		run, added, err := s.copyOnce(ctx, j, dst.Repository, from)
		if err != nil {
			return err
		}
		res.Backup = &run
		s.m.bytesAdded.WithLabelValues(name, rc.Name).Add(float64(added))
		s.recordSuccess(j, rc.Name, s.clock.Now())
		lg.Info("backup copied", "backup", run.ShortID, "source_backup", repository.ShortHex(from.id), "files", run.Files,
			"bytes_total", run.BytesTotal, "bytes_added", added, "seconds", time.Since(start).Seconds())
		return s.afterSaved(ctx, j, rc, dst.Repository, &res, lg)
	}()
	s.settle(j, rc, dst, start, err, &res, lg, "copy failed")
	return res
}

// copyOnce opens the repository the backup was taken into and copies the
// backup into dst; it returns the backup in dst and the bytes dst grew
// by. A backup dst holds already (the same root tree, time and host) is
// not copied again.
func (s *Server) copyOnce(ctx context.Context, j *job, dst *repository.Repository, from runBackup) (engine.BackupRun, int64, error) {
	src, err := s.openRepo(ctx, from.repo.URL, j)
	if err != nil {
		return engine.BackupRun{}, 0, &stageError{"repository", fmt.Errorf("cannot open %s to copy its backup: %w", from.repo.Name, err)}
	}
	defer src.Close()
	res, err := backup.Copy(ctx, src.Repository, dst, backup.CopyOptions{Backups: []string{from.id}, Workers: j.workers, Progress: &j.progress})
	if err != nil {
		return engine.BackupRun{}, 0, err
	}
	b := res.Backups[0]
	if b.Status != backup.Copied {
		return engine.BackupRun{Backup: engine.Summarize(b.Backup)}, 0, nil
	}
	run := engine.SummarizeRun(b.Result)
	return run, run.BytesAdded, nil
}
