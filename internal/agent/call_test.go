package agent_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/agent"
)

// callCase is one call and its whole answer: status and body.
type callCase struct {
	what, path string
	body       any
	code       int
	// answer is the error the body states; "" for an answer of {}.
	answer string
}

// The calls on an operation answer word for word as docs/cluster.md
// says: a body that cannot be parsed or an operation id that is not 32
// lowercase hex digits is 400 (commit checks set_operation first, naming
// it), another operation 404 (release and abort: 200 and nothing done), a
// call out of order 409.
func TestCallAnswers(t *testing.T) {
	node := startSim(t, nil)
	a := startAgent(t, node, agent.RoleData, nil)
	a.do(t, http.MethodPost, agent.PathPrepare, agent.PrepareRequest{Operation: opA, Repository: "main", LeaseSeconds: 600}, nil)
	notHex := `operation "X" is not 32 lowercase hex digits`
	noB := "no operation " + opB + ": its lease may have ended"
	a.expectAnswers(t, []callCase{
		{"an unknown field", agent.PathSnapshot, map[string]string{"op": opA}, 400, `cannot parse request: json: unknown field "op"`},
		{"snapshot of a bad id", agent.PathSnapshot, agent.OperationRequest{Operation: "X"}, 400, notHex},
		{"snapshot of another operation", agent.PathSnapshot, agent.OperationRequest{Operation: opB}, 404, noB},
		{"upload before the snapshot", agent.PathUpload, agent.UploadRequest{Operation: opA}, 409, "operation " + opA + " is prepared: an upload follows the snapshot, once"},
		{"upload of another operation", agent.PathUpload, agent.UploadRequest{Operation: opB}, 404, noB},
		{"commit of bad ids", agent.PathCommit, agent.CommitRequest{Operation: "X", SetOperation: "Y"}, 400, `set_operation: operation "Y" is not 32 lowercase hex digits`},
		{"commit of a bad id", agent.PathCommit, agent.CommitRequest{Operation: "X", SetOperation: opB}, 400, notHex},
		{"commit of another operation", agent.PathCommit, agent.CommitRequest{Operation: opB, SetOperation: opB}, 404, noB},
		{"commit before the upload", agent.PathCommit, agent.CommitRequest{Operation: opA, SetOperation: opB}, 409, "operation " + opA + " is prepared: commit follows a finished upload"},
		{"release of a bad id", agent.PathRelease, agent.OperationRequest{Operation: "X"}, 400, notHex},
		{"release of another operation", agent.PathRelease, agent.OperationRequest{Operation: opB}, 200, ""},
		{"abort of a bad id", agent.PathAbort, agent.OperationRequest{Operation: "X"}, 400, notHex},
		{"abort of another operation", agent.PathAbort, agent.OperationRequest{Operation: opB}, 200, ""},
	})
	if st := a.status(t, opA); st == nil || st.Phase != agent.PhasePrepared {
		t.Fatalf("after the refused calls: %+v, want operation %s prepared", st, opA)
	}
	a.do(t, http.MethodPost, agent.PathSnapshot, agent.OperationRequest{Operation: opA}, nil)
	a.expectAnswers(t, []callCase{
		{"a second snapshot", agent.PathSnapshot, agent.OperationRequest{Operation: opA}, 409, "operation " + opA + " is snapshotted, not prepared: one snapshot per operation"},
		{"release", agent.PathRelease, agent.OperationRequest{Operation: opA}, 200, ""},
		{"abort", agent.PathAbort, agent.OperationRequest{Operation: opA}, 200, ""},
		{"release once ended", agent.PathRelease, agent.OperationRequest{Operation: opA}, 200, ""},
	})
}

// expectAnswers sends each case's call with the token, in order, and
// checks its status and body.
func (a *testAgent) expectAnswers(t *testing.T, cases []callCase) {
	t.Helper()
	for _, c := range cases {
		want := "{}\n"
		if c.answer != "" {
			b, err := json.Marshal(agent.ErrorResponse{Error: c.answer})
			if err != nil {
				t.Fatal(err)
			}
			want = string(b) + "\n"
		}
		if code, body := a.call(t, http.MethodPost, c.path, "Bearer "+testToken, c.body); code != c.code || body != want {
			t.Errorf("%s: %d %q, want %d %q", c.what, code, body, c.code, want)
		}
	}
}
