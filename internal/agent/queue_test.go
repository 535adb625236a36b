package agent_test

import (
	"net/http"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// A liaison's agent answers its queue as often as asked within an
// operation, as the liaison holds it; without the token, or without an
// operation, it answers nothing; a data node's agent has no queue.
func TestQueueRead(t *testing.T) {
	liaison := startLiaison(t)
	a := startAgent(t, liaison, agent.RoleLiaison, nil)
	if code, body := a.call(t, http.MethodGet, agent.PathQueue+"?operation="+opA, "", nil); code != http.StatusUnauthorized || body != "" {
		t.Errorf("queue without the token: %d %q", code, body)
	}
	if code, _ := a.call(t, http.MethodGet, agent.PathQueue+"?operation="+opA, "Bearer "+testToken, nil); code != http.StatusNotFound {
		t.Errorf("queue before prepare: %d, want 404", code)
	}
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main"}, nil)
	want := liaison.QueueState()
	for range 2 {
		var q repository.LiaisonQueue
		a.do(t, http.MethodGet, agent.PathQueue+"?operation="+opA, nil, &q)
		if q.Parts != want.Parts || q.Parts == 0 || q.Bytes != want.Bytes || q.Drained || q.OldestFlush == nil {
			t.Errorf("queue %+v, the liaison holds %+v", q, want)
		}
	}
	node := startSim(t, nil)
	d := startAgent(t, node, agent.RoleData, nil)
	d.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main"}, nil)
	if code, _ := d.call(t, http.MethodGet, agent.PathQueue+"?operation="+opA, "Bearer "+testToken, nil); code != http.StatusConflict {
		t.Errorf("queue of a data node's agent: %d, want 409", code)
	}
}
