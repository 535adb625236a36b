package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// uploadJob is an operation's upload, run in the background. Its fields
// but done and cancel are guarded by Server.mu.
type uploadJob struct {
	cancel   context.CancelFunc
	done     chan struct{} // closed when the upload has returned
	progress *progressRecorder
	// repo and uploaded are set once the upload is done, until commit or
	// the operation's end.
	repo     *engine.Repo
	uploaded *backup.Uploaded
}

func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	var req UploadRequest
	s.call(w, r, &req, func(op *operation) (any, error) {
		// Not the request's context: the upload goes on once answered.
		return struct{}{}, s.upload(context.WithoutCancel(r.Context()), op, req.Tags)
	})
}

// upload starts the upload of op's snapshot, tagged tags, once; a
// liaison's is done at once. The caller holds s.callMu.
func (s *Server) upload(ctx context.Context, op *operation, tags []string) error {
	if phase := s.phase(op); phase != PhaseSnapshotted {
		return statusErr(http.StatusConflict, "operation %s is %s: an upload follows the snapshot, once", op.status.ID, phase)
	}
	if s.opts.Role == RoleLiaison {
		// A liaison's queues are transient (docs/cluster.md): there is
		// nothing to upload, and its commit names no backup.
		s.mu.Lock()
		op.up = &uploadJob{done: closedChan()}
		op.status.Phase = PhaseUploaded
		s.mu.Unlock()
		return nil
	}
	if s.opts.OpenRepository == nil {
		return statusErr(http.StatusInternalServerError, "cannot upload: the agent has no way to open repositories")
	}
	return s.startUpload(ctx, op, tags)
}

// startUpload records op as uploading and runs its upload in the
// background, until ctx ends or the upload is stopped.
func (s *Server) startUpload(ctx context.Context, op *operation, tags []string) error {
	ctx, cancel := context.WithCancel(ctx)
	job := &uploadJob{cancel: cancel, done: make(chan struct{}), progress: &progressRecorder{}}
	s.mu.Lock()
	op.up = job
	op.status.Phase = PhaseUploading
	s.mu.Unlock()
	if err := s.saveState(op); err != nil {
		cancel()
		close(job.done)
		s.setFailed(op, err)
		return err
	}
	go s.runUpload(ctx, op, job, tags)
	return nil
}

// runUpload uploads op's snapshot into its repository and records how it
// ended in op's status.
func (s *Server) runUpload(ctx context.Context, op *operation, job *uploadJob, tags []string) {
	defer close(job.done)
	defer job.cancel()
	repo, err := s.opts.OpenRepository(ctx, op.status.Repository)
	var up *backup.Uploaded
	if err != nil {
		err = fmt.Errorf("cannot open repository %q: %w", op.status.Repository, err)
	} else {
		opts := s.opts.Upload
		opts.Roots, opts.Host, opts.Tags, opts.ToolVersion, opts.Progress = s.opts.Roots, s.opts.NodeName, tags, s.opts.Version, job.progress
		up, err = backup.UploadTaken(ctx, repo.Repository, opts, backup.TakenSnapshot{
			Node: s.opts.Node.Node, APIVersion: op.version, Taken: op.taken})
		if err != nil {
			_ = repo.Close()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		op.status.Phase, op.status.Error = PhaseFailed, err.Error()
		return
	}
	job.repo, job.uploaded = repo, up
	m := up.Manifest()
	sum := m.Summary
	op.status.Phase, op.status.Summary, op.status.LackingParts = PhaseUploaded, &sum, lackingCount(m)
}

// stop ends the upload: a running one is cancelled and waited for, a
// finished one's lock given up without a manifest (nothing happens after
// a commit), and its repository closed. The caller holds s.callMu.
func (j *uploadJob) stop(ctx context.Context) {
	if j == nil {
		return
	}
	if j.cancel != nil {
		j.cancel()
	}
	<-j.done
	if j.uploaded != nil {
		j.uploaded.Release(ctx)
	}
	if j.repo != nil {
		_ = j.repo.Close()
		j.repo = nil
	}
}

func (s *Server) handleCommit(w http.ResponseWriter, r *http.Request) {
	var req CommitRequest
	s.call(w, r, &req, func(op *operation) (any, error) {
		return s.commit(context.WithoutCancel(r.Context()), op, req.SetOperation)
	})
}

// commit writes the node's backup of op, recording setOperation. The
// caller holds s.callMu.
func (s *Server) commit(ctx context.Context, op *operation, setOperation string) (*CommitResponse, error) {
	s.mu.Lock()
	phase, job := op.status.Phase, op.up
	s.mu.Unlock()
	switch {
	case phase == PhaseCommitted:
		return nil, statusErr(http.StatusConflict, "operation %s is committed already (backup %q)", op.status.ID, op.status.Backup)
	case phase == PhaseFailed:
		return nil, statusErr(http.StatusConflict, "operation %s failed: %s", op.status.ID, op.status.Error)
	case phase != PhaseUploaded || job == nil:
		return nil, statusErr(http.StatusConflict, "operation %s is %s: commit follows a finished upload", op.status.ID, phase)
	}
	resp := &CommitResponse{}
	if job.uploaded != nil {
		res, err := job.uploaded.CommitWith(ctx, backup.CommitOptions{ClusterOperation: setOperation})
		_ = job.repo.Close()
		job.repo = nil
		if err != nil {
			s.setFailed(op, err)
			if errors.Is(err, repository.ErrLockLost) {
				return nil, statusErr(http.StatusConflict, "%v", err)
			}
			return nil, statusErr(http.StatusBadGateway, "%v", err)
		}
		resp.Backup, resp.LackingParts = res.ID.String(), lackingCount(res.Manifest)
		s.mu.Lock()
		op.status.Warning = res.SnapshotRemoveError
		s.mu.Unlock()
	}
	s.mu.Lock()
	op.status.Phase, op.status.Backup = PhaseCommitted, resp.Backup
	s.mu.Unlock()
	return resp, nil
}

// setFailed records that op failed with err.
func (s *Server) setFailed(op *operation, err error) {
	s.mu.Lock()
	op.status.Phase, op.status.Error = PhaseFailed, err.Error()
	s.mu.Unlock()
}

// lackingCount is the number of parts m's snapshot listed but lacked.
func lackingCount(m *repository.Manifest) int {
	n := 0
	for _, l := range m.LackingParts {
		n += len(l.Parts)
	}
	return n
}

func closedChan() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}

// progressRecorder keeps an upload's progress for status. Safe for
// concurrent use.
type progressRecorder struct {
	mu sync.Mutex
	p  UploadProgress
}

// Start implements progress.Reporter.
func (r *progressRecorder) Start(step string, items, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p = UploadProgress{Step: step, Files: items, Bytes: bytes}
}

// Advance implements progress.Reporter.
func (r *progressRecorder) Advance(items, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.FilesDone += items
	r.p.BytesDone += bytes
}

// Done implements progress.Reporter.
func (r *progressRecorder) Done() {}

// get returns the progress so far; nil for a nil recorder.
func (r *progressRecorder) get() *UploadProgress {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.p
	return &p
}
