package agent

import (
	"net/http"
)

// opRequest is the body of a call that names an operation.
type opRequest interface {
	// checkedID checks the request's fields and returns the operation id
	// it names.
	checkedID() (string, error)
}

func (q *OperationRequest) checkedID() (string, error) {
	return q.Operation, validOperation(q.Operation)
}

func (q *UploadRequest) checkedID() (string, error) {
	return q.Operation, validOperation(q.Operation)
}

// checkedID checks set_operation before the operation.
func (q *CommitRequest) checkedID() (string, error) {
	if err := validOperation(q.SetOperation); err != nil {
		return "", statusErr(http.StatusBadRequest, "set_operation: %v", err)
	}
	return q.Operation, validOperation(q.Operation)
}

// locked runs a call that changes the operation: it reads the request
// into req and checks it, then runs do with the operation id it names,
// holding s.callMu until the answer is written: what do returns, as
// JSON, or its error.
func (s *Server) locked(w http.ResponseWriter, r *http.Request, req opRequest, do func(id string) (any, error)) {
	if err := readJSON(r, req); err != nil {
		fail(w, err)
		return
	}
	id, err := req.checkedID()
	if err != nil {
		fail(w, err)
		return
	}
	s.callMu.Lock()
	defer s.callMu.Unlock()
	resp, err := do(id)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// call is locked for a call on the live operation: do runs with the
// operation the request names, its lease renewed; a request naming
// another operation, or none, is refused (404).
func (s *Server) call(w http.ResponseWriter, r *http.Request, req opRequest, do func(op *operation) (any, error)) {
	s.locked(w, r, req, func(id string) (any, error) {
		op, err := s.current(id)
		if err != nil {
			return nil, err
		}
		return do(op)
	})
}
