package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// A coordinator that gives up during the snapshot call (its link cut, its
// deadline passed) leaves no snapshot behind: the agent still gets the
// node's answer, which names the directories, and the abort (or the
// lease's end) deletes them.
func TestSnapshotOfACallerThatLeftIsDeleted(t *testing.T) {
	node := startSim(t, func(c *sim.Config) { c.Faults.SlowSnapshot = sim.Duration(time.Second) })
	a := startAgent(t, node, agent.RoleData, nil)
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main"}, nil)
	body, _ := json.Marshal(agent.OperationRequest{Operation: opA})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, a.url+agent.PathSnapshot, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+testToken)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the snapshot call answered %d before the slow snapshot", resp.StatusCode)
	}
	deadline := time.Now().Add(time.Minute)
	for node.Stats().SnapshotsTaken == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the node took no snapshot")
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.do(t, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: opA}, nil)
	if dirs := snapshotDirs(t, a.root); len(dirs) != 0 {
		t.Errorf("snapshot left after the caller left and the abort: %v", dirs)
	}
}
