package cluster

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// The agent's calls (docs/cluster.md, "The agent's API"). Each renews the
// operation's lease on the agent.

// Prepare starts operation op on the agent of n.
func (c *Client) Prepare(ctx context.Context, n Node, req agent.PrepareRequest) (*agent.PrepareResponse, error) {
	var resp agent.PrepareResponse
	if err := c.call(ctx, n, http.MethodPost, agent.PathPrepare, req, &resp, 0); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Queue reads a liaison's write queue now.
func (c *Client) Queue(ctx context.Context, n Node, op string) (*repository.LiaisonQueue, error) {
	var q repository.LiaisonQueue
	if err := c.call(ctx, n, http.MethodGet, agent.PathQueue+"?operation="+url.QueryEscape(op), nil, &q, 0); err != nil {
		return nil, err
	}
	return &q, nil
}

// Snapshot has the agent of n take its node's snapshot (a liaison's agent
// reads its queue).
func (c *Client) Snapshot(ctx context.Context, n Node, op string) (*agent.SnapshotResponse, error) {
	var resp agent.SnapshotResponse
	if err := c.call(ctx, n, http.MethodPost, agent.PathSnapshot, agent.OperationRequest{Operation: op}, &resp, 0); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Upload starts the upload of the snapshot of n; it returns at once.
func (c *Client) Upload(ctx context.Context, n Node, op string, tags []string) error {
	return c.call(ctx, n, http.MethodPost, agent.PathUpload, agent.UploadRequest{Operation: op, Tags: tags}, nil, 0)
}

// Status reads the operation's state on the agent of n, within timeout.
func (c *Client) Status(ctx context.Context, n Node, op string, timeout time.Duration) (*agent.StatusResponse, error) {
	var resp agent.StatusResponse
	if err := c.call(ctx, n, http.MethodGet, agent.PathStatus+"?operation="+url.QueryEscape(op), nil, &resp, timeout); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Commit has the agent of n write its node's manifest, recording setOp.
func (c *Client) Commit(ctx context.Context, n Node, op, setOp string) (*agent.CommitResponse, error) {
	var resp agent.CommitResponse
	if err := c.call(ctx, n, http.MethodPost, agent.PathCommit, agent.CommitRequest{Operation: op, SetOperation: setOp}, &resp, 0); err != nil {
		return nil, err
	}
	return &resp, nil
}

// Release has the agent of n delete its snapshot directories.
func (c *Client) Release(ctx context.Context, n Node, op string) error {
	return c.call(ctx, n, http.MethodPost, agent.PathRelease, agent.OperationRequest{Operation: op}, nil, 0)
}

// Abort ends the operation on the agent of n, dropping what it did.
func (c *Client) Abort(ctx context.Context, n Node, op string, timeout time.Duration) error {
	return c.call(ctx, n, http.MethodPost, agent.PathAbort, agent.OperationRequest{Operation: op}, nil, timeout)
}
