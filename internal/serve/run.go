package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/cluster"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
)

// RunRecord is one run of a job, as the API shows it.
type RunRecord struct {
	Job     string       `json:"job"`
	Trigger string       `json:"trigger"`
	Start   time.Time    `json:"start"`
	End     time.Time    `json:"end,omitzero"`
	Results []RepoResult `json:"results"`
	// OK is meaningful once End is set.
	OK bool `json:"ok"`
}

// RepoResult is a run's outcome in one repository.
type RepoResult struct {
	Repository string `json:"repository"`
	// Backup is the backup saved, as `backup --json` shows it.
	Backup          *engine.BackupRun `json:"backup,omitempty"`
	Error           string            `json:"error,omitempty"`
	Kind            string            `json:"failure_kind,omitempty"`
	BytesUploaded   int64             `json:"bytes_uploaded"`
	DurationSeconds float64           `json:"duration_seconds"`
	Forgotten       int               `json:"forgotten,omitempty"`
	BackupsKept     int               `json:"backups_kept"`
	// CopiedFrom names the repository whose backup of this run was
	// copied here (copy.go); empty for a backup taken of the node.
	CopiedFrom string `json:"copied_from,omitempty"`
	// Set is a cluster job's run, as `cluster backup --json` shows it.
	Set *cluster.Report `json:"set,omitempty"`
}

// JobTag is the tag every backup of a job carries: "job=NAME".
func JobTag(name string) string { return "job=" + name }

// runJob backs the job's source up once, into the first of its
// repositories that takes the backup, and copies that backup into each
// repository after it (copy.go): one snapshot of the node per run. rec is
// shared with the API: it changes only under j.mu.
func (s *Server) runJob(ctx context.Context, j *job, rec *RunRecord) {
	s.log.Info("run started", "job", j.cfg.Name, "trigger", rec.Trigger)
	ok := true
	var taken *runBackup
	for _, rc := range j.cfg.Repositories {
		var res RepoResult
		switch {
		case j.cfg.Source.Cluster != nil:
			res = s.clusterInto(ctx, j, rc)
		case taken == nil:
			res = s.backupInto(ctx, j, rc)
			taken = tookBackup(rc, res)
		default:
			res = s.copyInto(ctx, j, rc, *taken)
		}
		ok = ok && res.Error == ""
		j.mu.Lock()
		rec.Results = append(rec.Results, res)
		j.mu.Unlock()
	}
	end := s.clock.Now()
	j.mu.Lock()
	rec.OK, rec.End = ok, end
	j.mu.Unlock()
	s.log.Info("run finished", "job", j.cfg.Name, "ok", ok, "seconds", end.Sub(rec.Start).Seconds())
}

// stageError tags an error with the failure kind of the stage it came from.
type stageError struct {
	kind string
	err  error
}

func (e *stageError) Error() string { return e.err.Error() }
func (e *stageError) Unwrap() error { return e.err }

// failureKind classifies an error for failures_total{kind}.
func failureKind(err error) string {
	var se *stageError
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled"
	case errors.Is(err, repository.ErrLocked), errors.Is(err, repository.ErrLockLost):
		return "locked"
	case errors.Is(err, repository.ErrIntegrity):
		return "integrity"
	case errors.Is(err, backup.ErrSnapshotFailed), errors.Is(err, snapshot.ErrUnreachable), errors.Is(err, snapshot.ErrCallTimeout):
		return "node"
	case errors.Is(err, banyandb.ErrLocked):
		return "source"
	case errors.Is(err, backup.ErrRootMismatch):
		return "config"
	case errors.As(err, &se):
		return se.kind
	case clusterFailureKind(err) != "":
		return clusterFailureKind(err)
	}
	return "backup"
}

// openFailureKind classifies a failure to open a repository: a location,
// bucket or credentials the config must fix, or the repository itself.
func openFailureKind(err error) string {
	if errors.Is(err, backends.ErrBadURL) || errors.Is(err, storage.ErrBucketNotFound) || errors.Is(err, storage.ErrPermission) {
		return "config"
	}
	return "repository"
}

// backupInto takes one backup of the job into one repository, then applies
// the retention policy and updates the metrics.
func (s *Server) backupInto(ctx context.Context, j *job, rc RepositoryConfig) RepoResult {
	res := RepoResult{Repository: rc.Name}
	name := j.cfg.Name
	start := time.Now()
	lg := s.log.With("job", name, "repository", rc.Name)
	var repo *engine.Repo // counts uploaded_bytes_total
	j.progress.begin(rc.Name)
	err := func() error {
		var err error
		if repo, err = s.openRepo(ctx, rc.URL, j); err != nil {
			return &stageError{openFailureKind(err), err}
		}
		defer repo.Close()
		b, err := s.backupOnce(ctx, j, repo.Repository)
		if err != nil {
			return err
		}
		run := engine.SummarizeRun(b)
		res.Backup = &run
		s.m.bytesRead.WithLabelValues(name, rc.Name).Add(float64(run.BytesRead))
		s.m.bytesAdded.WithLabelValues(name, rc.Name).Add(float64(run.BytesAdded))
		s.recordSuccess(j, rc.Name, s.clock.Now())
		lg.Info("backup saved", "backup", run.ShortID, "files", run.Files, "bytes_total", run.BytesTotal,
			"bytes_read", run.BytesRead, "bytes_added", run.BytesAdded, "seconds", time.Since(start).Seconds())
		return s.afterSaved(ctx, j, rc, repo.Repository, &res, lg)
	}()
	s.settle(j, rc, repo, start, err, &res, lg, "backup failed")
	return res
}

// afterSaved applies the job's retention policy to the repository a
// backup was saved (or copied) into, and updates its statistics.
func (s *Server) afterSaved(ctx context.Context, j *job, rc RepositoryConfig, repo *repository.Repository, res *RepoResult, lg *slog.Logger) error {
	if j.cfg.Retention != nil {
		n, err := s.applyRetention(ctx, &j.cfg, repo)
		res.Forgotten = n
		s.m.forgotten.WithLabelValues(j.cfg.Name, rc.Name).Add(float64(n))
		if err != nil {
			return &stageError{"retention", err}
		}
		lg.Info("retention applied", "forgotten", n)
	}
	return s.repoStats(ctx, j, rc, repo, res)
}

// settle records a backup's or copy's duration, the bytes it uploaded
// (repo is nil when it could not be opened) and its failure, logged with
// msg.
func (s *Server) settle(j *job, rc RepositoryConfig, repo *engine.Repo, start time.Time, err error, res *RepoResult, lg *slog.Logger, msg string) {
	name := j.cfg.Name
	res.DurationSeconds = time.Since(start).Seconds()
	if repo != nil {
		res.BytesUploaded = repo.Counts().Uploaded
	}
	s.m.bytesUp.WithLabelValues(name, rc.Name).Add(float64(res.BytesUploaded))
	s.m.lastDuration.WithLabelValues(name, rc.Name).Set(res.DurationSeconds)
	s.m.duration.WithLabelValues(name, rc.Name).Observe(res.DurationSeconds)
	if err != nil {
		res.Kind = failureKind(err)
		res.Error = s.redact.String(err.Error())
		s.m.failures.WithLabelValues(name, rc.Name, res.Kind).Inc()
		lg.Error(msg, "kind", res.Kind, "error", res.Error, "seconds", res.DurationSeconds)
	}
}

// backupOnce runs backup.Run or backup.RunLive with the job's source.
func (s *Server) backupOnce(ctx context.Context, j *job, repo *repository.Repository) (*backup.Result, error) {
	src := j.cfg.Source
	roots := banyandb.Roots{Root: src.Root, Override: map[banyandb.Catalog]string{}}
	for k, v := range src.Roots {
		c, _ := banyandb.ParseCatalog(k) // checked by LoadConfig
		roots.Override[c] = v
	}
	opts := backup.Options{
		Roots: roots, Catalogs: src.catalogs, Location: src.location,
		Tags: append(slices.Clone(j.cfg.Tags), JobTag(j.cfg.Name)), Host: src.Host, ToolVersion: s.opts.ToolVersion,
		Workers: j.workers, ReadLimit: j.read, Progress: &j.progress,
	}
	if src.Node == "" {
		opts.Groups = src.Groups
		return backup.Run(ctx, repo, opts)
	}
	live := backup.LiveOptions{
		Node:   src.nodeOptions(),
		Groups: src.Groups, KeepSnapshot: src.KeepSnapshot,
	}
	return backup.RunLive(ctx, repo, opts, live)
}

// repoStats sets the repository's size, dedup ratio and the job's backup
// count.
func (s *Server) repoStats(ctx context.Context, j *job, rc RepositoryConfig, repo *repository.Repository, res *RepoResult) error {
	backups, err := repo.Backups(ctx)
	if err != nil {
		return &stageError{"repository", err}
	}
	var logical int64
	kept := 0
	for _, b := range backups {
		logical += b.Summary.Bytes
		if slices.Contains(b.Tags, JobTag(j.cfg.Name)) {
			kept++
		}
	}
	var size int64
	if err := repo.Backend().List(ctx, "", func(o storage.ObjectInfo) error { size += o.Size; return nil }); err != nil {
		return &stageError{"repository", fmt.Errorf("cannot list %s: %w", rc.Name, err)}
	}
	res.BackupsKept = kept
	s.m.kept.WithLabelValues(j.cfg.Name, rc.Name).Set(float64(kept))
	s.m.repoSize.WithLabelValues(j.cfg.Name, rc.Name).Set(float64(size))
	if size > 0 {
		s.m.dedup.WithLabelValues(j.cfg.Name, rc.Name).Set(float64(logical) / float64(size))
	}
	return nil
}
