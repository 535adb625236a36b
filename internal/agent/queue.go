package agent

import (
	"net/http"
)

// handleQueue answers a liaison's write queue as it is on disk now (the
// coordinator's drain wait reads it until the queue holds no part flushed
// before its target); it renews the operation's lease. A data node's
// agent has no queue to read: 409.
func (s *Server) handleQueue(w http.ResponseWriter, r *http.Request) {
	if _, err := s.current(r.URL.Query().Get("operation")); err != nil {
		fail(w, err)
		return
	}
	if s.opts.Role != RoleLiaison {
		fail(w, statusErr(http.StatusConflict, "the agent serves a data node, which has no write queue"))
		return
	}
	q, err := ReadLiaisonQueue(s.opts.Roots, s.now)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}
