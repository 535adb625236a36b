package cluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of ClientOptions.
const (
	DefaultCallTimeout = 2 * time.Minute
	DefaultDialTimeout = 10 * time.Second
)

// ErrAgentAuth is an agent refusing the coordinator's token (401).
var ErrAgentAuth = errors.New("the agent refused the token")

// maxAnswer bounds the answers the coordinator reads.
const maxAnswer = 4 << 20

// ClientOptions say how the coordinator reaches the agents.
type ClientOptions struct {
	// Token is the bearer token every agent requires.
	Token string
	// TLS is used for https agents (a CA, a client certificate for
	// mutual TLS); nil: the system's roots, no client certificate.
	TLS *tls.Config
	// CallTimeout bounds each call (its context's deadline, when sooner,
	// bounds it too); 0 means DefaultCallTimeout.
	CallTimeout time.Duration
	// DialTimeout bounds each connection's TCP and TLS handshakes; 0
	// means DefaultDialTimeout.
	DialTimeout time.Duration
}

// Client calls agents. Every call ends within its timeout, so an agent
// behind a cut link fails the call in bounded time.
type Client struct {
	hc      *http.Client
	token   string
	timeout time.Duration
}

// NewClient returns a client for o.
func NewClient(o ClientOptions) *Client {
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	d := &net.Dialer{Timeout: o.DialTimeout, KeepAlive: 15 * time.Second}
	tr := &http.Transport{DialContext: d.DialContext, TLSClientConfig: o.TLS, TLSHandshakeTimeout: o.DialTimeout,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute, ForceAttemptHTTP2: false}
	return &Client{hc: &http.Client{Transport: tr}, token: o.Token, timeout: o.CallTimeout}
}

// Close drops the client's idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// CallError is an agent's error answer, or a call that got none.
type CallError struct {
	Node string
	Path string
	// Status is the HTTP status; 0 when no answer came.
	Status int
	Err    error
}

func (e *CallError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("cannot call agent of %s (%s): %v", e.Node, e.Path, e.Err)
	}
	return fmt.Sprintf("agent of %s answered %d to %s: %v", e.Node, e.Status, e.Path, e.Err)
}

func (e *CallError) Unwrap() error { return e.Err }

// call sends body (nil: none) to the agent of n and decodes a 200 answer
// into out (nil: ignored), within timeout (0: the client's).
func (c *Client) call(ctx context.Context, n Node, method, path string, body, out any, timeout time.Duration) error {
	if timeout <= 0 || timeout > c.timeout {
		timeout = c.timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return &CallError{Node: n.Address, Path: path, Err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, n.Agent+path, rd)
	if err != nil {
		return &CallError{Node: n.Address, Path: path, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return &CallError{Node: n.Address, Path: path, Err: unwrapURL(err)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &CallError{Node: n.Address, Path: path, Err: fmt.Errorf("cannot read answer: %w", err)}
	}
	if resp.StatusCode != http.StatusOK {
		return &CallError{Node: n.Address, Path: path, Status: resp.StatusCode, Err: answerError(resp.StatusCode, b)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &CallError{Node: n.Address, Path: path, Status: resp.StatusCode, Err: fmt.Errorf("cannot parse answer: %w", err)}
	}
	return nil
}

// answerError is the error an agent's non-200 answer carries.
func answerError(status int, body []byte) error {
	if status == http.StatusUnauthorized {
		return ErrAgentAuth
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error != "" {
		return errors.New(e.Error)
	}
	return errors.New(strings.TrimSpace(http.StatusText(status) + " " + string(bytes.TrimSpace(body))))
}

// unwrapURL drops net/http's repetition of the method and URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
