// Package agent is the cluster backup agent (docs/cluster.md): a small
// HTTP API beside one BanyanDB node (a data node or a liaison) through
// which a coordinator prepares the node, has it take its snapshot, upload
// it into one of the agent's repositories and commit the node's backup,
// and releases it. Every request must carry the bearer token of the
// agent's token file; an operation lives under a lease, and an agent
// whose coordinator stops renewing it stops its upload and releases the
// node's snapshot by itself.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// Defaults of Options.
const (
	DefaultLease = 60 * time.Second
	MaxLease     = 30 * time.Minute
)

// maxBody bounds the request bodies the agent reads.
const maxBody = 1 << 20

// Options say what node an agent serves and how.
type Options struct {
	// TokenFile holds the bearer token every request must carry. Required.
	TokenFile string
	// Role is RoleData or RoleLiaison.
	Role string
	// NodeName is the node's name as BanyanDB gives it, <host>:<port>.
	NodeName string
	// Node reaches a data node's snapshot API (unused for a liaison).
	Node snapshot.Options
	// Roots are the node's data roots.
	Roots banyandb.Roots
	// StateDir keeps the operation's state, so that an agent killed with
	// a snapshot taken deletes it when it starts again. Required.
	StateDir string
	// OpenRepository opens the repository of the given name, one of the
	// agent's own (its URL and credentials are the agent's configuration,
	// never the coordinator's): prepare opens it to check it, upload to
	// write into it. nil accepts no repository name.
	OpenRepository func(ctx context.Context, name string) (*engine.Repo, error)
	// CheckRepository, when set, is what prepare checks the repository
	// with instead of opening it.
	CheckRepository func(ctx context.Context, name string) error
	// Upload is what the agent's uploads start from: catalogs, the
	// server's time zone, workers, the read limit. The agent sets the
	// roots, the host (NodeName), the tags, the tool version and the
	// progress.
	Upload backup.Options
	// Lease is the default lease of an operation; 0 means DefaultLease.
	Lease time.Duration
	// FlushTimeouts are the node's flush timeouts per catalog, reported by
	// prepare.
	FlushTimeouts map[string]time.Duration
	// Version is the agent's release.
	Version string
	// Clock returns the current time; nil means time.Now.
	Clock func() time.Time
	// OnRefuse is told of each request refused for its token; nil: none.
	OnRefuse func(*http.Request, error)
}

// Server is one agent. Create it with New; serve Handler; Close releases
// what it holds.
type Server struct {
	opts  Options
	token *tokenFile
	now   func() time.Time

	// callMu orders the calls that change the operation (and its lease
	// expiry), so that a lease never expires in the middle of a
	// snapshot; mu guards op for the readers.
	callMu sync.Mutex
	mu     sync.Mutex
	op     *operation
	closed bool
	// aborted are the operations last aborted, newest last, at most
	// maxAborted: a prepare of one of them arriving after its abort (the
	// coordinator gave up on the call, then told everyone to abort) is
	// refused. Guarded by callMu.
	aborted []string
}

// New checks opts, reads the token, and cleans up after an agent killed
// with an operation under way: the snapshots its state names are deleted.
func New(ctx context.Context, opts Options) (*Server, error) {
	switch {
	case opts.Role != RoleData && opts.Role != RoleLiaison:
		return nil, fmt.Errorf("cannot create agent: role %q: use data or liaison", opts.Role)
	case opts.NodeName == "":
		return nil, errors.New("cannot create agent: no node name")
	case opts.StateDir == "":
		return nil, errors.New("cannot create agent: no state directory")
	case opts.Role == RoleData && opts.Node.Node == "":
		return nil, errors.New("cannot create agent: a data node's agent needs the node's snapshot API address")
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	tok, err := newTokenFile(opts.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("cannot create agent: %w", err)
	}
	s := &Server{opts: opts, token: tok, now: opts.Clock}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.recover(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Handler returns the agent's API, behind the token check.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathPrepare, s.handlePrepare)
	mux.HandleFunc("POST "+PathSnapshot, s.handleSnapshot)
	mux.HandleFunc("POST "+PathRelease, s.handleRelease)
	mux.HandleFunc("POST "+PathAbort, s.handleAbort)
	mux.HandleFunc("GET "+PathStatus, s.handleStatus)
	mux.HandleFunc("GET "+PathQueue, s.handleQueue)
	mux.HandleFunc("POST "+PathUpload, s.handleUpload)
	mux.HandleFunc("POST "+PathCommit, s.handleCommit)
	return requireToken(s.token, mux, s.opts.OnRefuse)
}

// Close ends the operation, if any, releasing its snapshot.
func (s *Server) Close(ctx context.Context) error {
	s.callMu.Lock()
	defer s.callMu.Unlock()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.endLocked(ctx)
}

// httpError is an error with the status to answer.
type httpError struct {
	status int
	err    error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

func statusErr(status int, format string, args ...any) error {
	return &httpError{status: status, err: fmt.Errorf(format, args...)}
}

// fail answers err: its status if it has one, else 500.
func fail(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	var he *httpError
	if errors.As(err, &he) {
		status = he.status
	}
	writeJSON(w, status, ErrorResponse{err.Error()})
}

// readJSON decodes a request body into v, refusing unknown fields.
func readJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return statusErr(http.StatusBadRequest, "cannot parse request: %v", err)
	}
	return nil
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"cannot encode answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
