package agent

import (
	"context"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// operation is the agent's one operation. The caller holds s.callMu to
// change it, and s.mu to change or read status.
type operation struct {
	status OperationStatus
	taken  []snapshot.Taken
	timer  *time.Timer
	lease  time.Duration
	// version is a data node's API version, from prepare.
	version snapshot.Version
	// up is the upload, once asked for.
	up *uploadJob
}

// maxAborted is how many aborted operations an agent remembers: far more
// than coordinators could abort while one prepare call is on its way.
const maxAborted = 64

// validOperation checks an operation id: 32 lowercase hex digits.
func validOperation(id string) error {
	if b, err := hex.DecodeString(id); err != nil || len(b) != 16 || strings.ToLower(id) != id {
		return statusErr(http.StatusBadRequest, "operation %q is not 32 lowercase hex digits", id)
	}
	return nil
}

func (s *Server) handlePrepare(w http.ResponseWriter, r *http.Request) {
	var req PrepareRequest
	if err := readJSON(r, &req); err != nil {
		fail(w, err)
		return
	}
	resp, err := s.prepare(r.Context(), req)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// prepare starts an operation: it checks the request, that no other
// operation lives, the repository, and the node; then it records the
// operation and starts its lease.
func (s *Server) prepare(ctx context.Context, req PrepareRequest) (*PrepareResponse, error) {
	if err := validOperation(req.Operation); err != nil {
		return nil, err
	}
	lease := s.opts.Lease
	if req.LeaseSeconds != 0 {
		lease = time.Duration(req.LeaseSeconds * float64(time.Second))
	}
	if lease <= 0 || lease > MaxLease {
		return nil, statusErr(http.StatusBadRequest, "lease of %v: give 0 (the agent's default) up to %v", lease, MaxLease)
	}
	s.callMu.Lock()
	defer s.callMu.Unlock()
	s.mu.Lock()
	cur, closed := s.op, s.closed
	s.mu.Unlock()
	switch {
	case closed:
		return nil, statusErr(http.StatusServiceUnavailable, "the agent is stopping")
	case slices.Contains(s.aborted, req.Operation):
		return nil, statusErr(http.StatusConflict, "operation %s was aborted: a coordinator starts a new one", req.Operation)
	case cur != nil && cur.status.ID == req.Operation:
		return nil, statusErr(http.StatusConflict, "operation %s is already prepared", req.Operation)
	case cur != nil:
		return nil, statusErr(http.StatusConflict, "operation %s is under way; abort it or wait until its lease ends (%s)",
			cur.status.ID, cur.status.LeaseUntil.Format(time.RFC3339))
	}
	if err := s.checkRepository(ctx, req.Repository); err != nil {
		return nil, err
	}
	resp := &PrepareResponse{Node: s.opts.NodeName, Role: s.opts.Role, AgentVersion: s.opts.Version, FlushTimeouts: map[string]string{}}
	for c, d := range s.opts.FlushTimeouts {
		resp.FlushTimeouts[c] = d.String()
	}
	if err := s.checkRoots(); err != nil {
		return nil, statusErr(http.StatusBadGateway, "%v", err)
	}
	op := &operation{status: OperationStatus{ID: req.Operation, Phase: PhasePrepared, Repository: req.Repository}}
	if s.opts.Role == RoleData {
		v, err := s.nodeVersion(ctx)
		if err != nil {
			return nil, statusErr(http.StatusBadGateway, "%v", err)
		}
		resp.APIVersion, op.version = v.Version, v
	}
	if err := s.saveState(op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.op = op
	s.renewLocked(op, lease)
	resp.Clock, resp.LeaseUntil = s.now().UTC(), op.status.LeaseUntil
	s.mu.Unlock()
	return resp, nil
}

// checkRepository checks that the repository named can be used.
func (s *Server) checkRepository(ctx context.Context, name string) error {
	var err error
	switch {
	case s.opts.CheckRepository != nil:
		err = s.opts.CheckRepository(ctx, name)
	case s.opts.OpenRepository != nil:
		var repo *engine.Repo
		if repo, err = s.opts.OpenRepository(ctx, name); err == nil {
			err = repo.Close()
		}
	default:
		return statusErr(http.StatusBadRequest, "the agent has no repository named %q: it names none", name)
	}
	if err != nil {
		return statusErr(http.StatusBadGateway, "cannot use repository %q: %v", name, err)
	}
	return nil
}

// phase is op's phase, which an upload changes in the background.
func (s *Server) phase(op *operation) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return op.status.Phase
}

// renewLocked (re)starts op's lease. The caller holds s.mu.
func (s *Server) renewLocked(op *operation, lease time.Duration) {
	op.lease = lease
	op.status.LeaseUntil = s.now().Add(lease).UTC()
	if op.timer != nil {
		op.timer.Stop()
	}
	id := op.status.ID
	op.timer = time.AfterFunc(lease, func() { s.expire(id) })
}

// expire ends operation id once its lease has run out, unless a call
// renewed it meanwhile.
func (s *Server) expire(id string) {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	s.mu.Lock()
	op := s.op
	live := op != nil && op.status.ID == id && s.now().Before(op.status.LeaseUntil)
	s.mu.Unlock()
	if op == nil || op.status.ID != id || live {
		return
	}
	_ = s.endLocked(context.Background())
}

// current returns the operation a call names, renewing its lease; a call
// for another operation, or none, is refused.
func (s *Server) current(id string) (*operation, error) {
	if err := validOperation(id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.op == nil || s.op.status.ID != id {
		return nil, statusErr(http.StatusNotFound, "no operation %s: its lease may have ended", id)
	}
	s.renewLocked(s.op, s.op.lease)
	return s.op, nil
}

func (s *Server) handleSnapshot(w http.ResponseWriter, r *http.Request) {
	var req OperationRequest
	s.call(w, r, &req, func(op *operation) (any, error) {
		// Not the request's context: a node finishes a snapshot whose
		// caller has gone, and only its answer names the directories to
		// delete.
		return s.snapshot(context.WithoutCancel(r.Context()), op)
	})
}

// snapshot takes op's snapshot, once, and records how it went in op's
// status. The caller holds s.callMu.
func (s *Server) snapshot(ctx context.Context, op *operation) (*SnapshotResponse, error) {
	if phase := s.phase(op); phase != PhasePrepared {
		return nil, statusErr(http.StatusConflict, "operation %s is %s, not prepared: one snapshot per operation", op.status.ID, phase)
	}
	resp, err := s.takeSnapshot(ctx, op)
	s.mu.Lock()
	if err != nil {
		op.status.Phase, op.status.Error = PhaseFailed, err.Error()
	} else {
		op.status.Phase, op.status.Snapshot = PhaseSnapshotted, resp
	}
	s.mu.Unlock()
	if err != nil {
		return nil, statusErr(http.StatusBadGateway, "%v", err)
	}
	return resp, nil
}

func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request) {
	var req OperationRequest
	s.locked(w, r, &req, func(id string) (any, error) {
		op, err := s.current(id)
		if err != nil {
			return struct{}{}, nil // nothing to release
		}
		return struct{}{}, s.release(r.Context(), op)
	})
}

// release deletes op's snapshot directories; a committed operation, which
// has nothing left to do, ends. It is refused while the upload reads the
// snapshot. The caller holds s.callMu.
func (s *Server) release(ctx context.Context, op *operation) error {
	switch s.phase(op) {
	case PhaseUploading:
		return statusErr(http.StatusConflict, "operation %s is uploading its snapshot: release it once uploaded, or abort", op.status.ID)
	case PhaseCommitted:
		return s.endLocked(ctx)
	}
	if err := s.releaseLocked(op); err != nil {
		return err
	}
	s.mu.Lock()
	if op.status.Phase == PhasePrepared || op.status.Phase == PhaseSnapshotted {
		op.status.Phase = PhaseReleased
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) handleAbort(w http.ResponseWriter, r *http.Request) {
	var req OperationRequest
	s.locked(w, r, &req, func(id string) (any, error) {
		return struct{}{}, s.abort(r.Context(), id)
	})
}

// abort ends operation id if it is the agent's; another, or none, is
// left as it is. Either way id is remembered as aborted, so that its
// prepare cannot start it afterwards: the coordinator aborts every agent
// after a failed prepare, while another agent's prepare may still be on
// its way (its caller cancelled) and would otherwise start an operation
// nobody ends before its lease. The caller holds s.callMu.
func (s *Server) abort(ctx context.Context, id string) error {
	if !slices.Contains(s.aborted, id) {
		if len(s.aborted) == maxAborted {
			s.aborted = slices.Delete(s.aborted, 0, 1)
		}
		s.aborted = append(s.aborted, id)
	}
	s.mu.Lock()
	mine := s.op != nil && s.op.status.ID == id
	s.mu.Unlock()
	if !mine {
		return nil
	}
	return s.endLocked(ctx)
}

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	resp := StatusResponse{Node: s.opts.NodeName, Role: s.opts.Role, AgentVersion: s.opts.Version}
	if id := r.URL.Query().Get("operation"); id != "" {
		if _, err := s.current(id); err != nil {
			fail(w, err)
			return
		}
	}
	s.mu.Lock()
	if s.op != nil {
		st := s.op.status
		if s.op.up != nil {
			st.Progress = s.op.up.progress.get()
		}
		resp.Operation = &st
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

// releaseLocked deletes the operation's snapshot directories. The caller
// holds s.callMu.
func (s *Server) releaseLocked(op *operation) error {
	if err := snapshot.Remove(s.opts.Roots, op.taken); err != nil {
		return err
	}
	op.taken = nil
	return s.saveState(op)
}

// endLocked ends the operation: its upload is stopped and dropped
// without a manifest (its repository lock given up), its snapshot
// deleted, its lease stopped and its state removed. A committed backup
// stays. The caller holds s.callMu.
func (s *Server) endLocked(ctx context.Context) error {
	s.mu.Lock()
	op := s.op
	s.mu.Unlock()
	if op == nil {
		return nil
	}
	op.up.stop(ctx)
	if err := s.releaseLocked(op); err != nil {
		return err
	}
	s.mu.Lock()
	if op.timer != nil {
		op.timer.Stop()
	}
	s.op = nil
	s.mu.Unlock()
	return s.removeState()
}
