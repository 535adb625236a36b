package snapshot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	commonv1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/common/v1"
	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
)

// Paths of the HTTP API.
const (
	snapshotPath = "/api/v1/snapshot"
	versionPath  = "/api/v1/common/api/version"
	healthPath   = "/api/healthz"
)

// maxAnswer bounds the answers read from the HTTP API.
const maxAnswer = 16 << 20

// httpClient talks to a node's HTTP API.
type httpClient struct {
	hc       *http.Client
	tr       *http.Transport
	base     string
	addr     string
	callTime time.Duration
}

// dialHTTP sets up the HTTP client and makes first contact (GET
// /api/healthz) within opts.ConnectTimeout; any HTTP answer will do.
func dialHTTP(ctx context.Context, ep endpoint, opts Options) (Client, error) {
	tr := &http.Transport{
		Proxy:                 nil, // a node is reached directly
		DialContext:           (&net.Dialer{Timeout: opts.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   opts.ConnectTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	if ep.tls {
		cfg, err := tlsConfig(opts, ep.host)
		if err != nil {
			return nil, fmt.Errorf("cannot connect to BanyanDB node %s: %w", ep.addr, err)
		}
		tr.TLSClientConfig = cfg
	}
	c := &httpClient{hc: &http.Client{Transport: tr}, tr: tr, base: ep.base, addr: ep.addr, callTime: opts.CallTimeout}
	if err := c.probe(ctx, opts.ConnectTimeout); err != nil {
		tr.CloseIdleConnections()
		return nil, err
	}
	return c, nil
}

// probe makes first contact.
func (c *httpClient) probe(ctx context.Context, timeout time.Duration) error {
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, c.base+healthPath, nil)
	if err != nil {
		return fmt.Errorf("cannot reach BanyanDB node %s over HTTP: %w", c.addr, err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("cannot reach BanyanDB node %s over HTTP: %w", c.addr, context.Cause(ctx))
		}
		return unreachable(c.addr, "HTTP", DefaultHTTPPort, err, timeout)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	return nil
}

// APIVersion calls GET /api/v1/common/api/version.
func (c *httpClient) APIVersion(ctx context.Context) (Version, error) {
	resp := &commonv1.GetAPIVersionResponse{}
	if err := c.call(ctx, http.MethodGet, versionPath, nil, resp, "get API version", ""); err != nil {
		return Version{}, err
	}
	return versionFrom(resp, c.addr)
}

// Snapshot calls POST /api/v1/snapshot.
func (c *httpClient) Snapshot(ctx context.Context, groups []Group) ([]Taken, error) {
	req, err := newRequest(groups)
	if err != nil {
		return nil, err
	}
	body, err := protojson.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("cannot encode snapshot request: %w", err)
	}
	resp := &databasev1.SnapshotResponse{}
	if err := c.call(ctx, http.MethodPost, snapshotPath, body, resp, "take snapshot", lateSnapshotNote); err != nil {
		return nil, err
	}
	return takenFrom(resp.GetSnapshots())
}

// call sends one request (a JSON body if body is not nil) within the call
// timeout and decodes a 200 answer into out.
func (c *httpClient) call(ctx context.Context, method, path string, body []byte, out proto.Message, verb, note string) error {
	cctx, cancel := context.WithTimeout(ctx, c.callTime)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(cctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("cannot %s on BanyanDB node %s: %w", verb, c.addr, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return callError(ctx, cctx, verb, c.addr, c.callTime, note, httpCause(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return callError(ctx, cctx, verb, c.addr, c.callTime, note, fmt.Errorf("cannot read answer: %w", err))
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cannot %s on BanyanDB node %s: %s %s: %s", verb, c.addr, method, path, statusText(resp.Status, data))
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, out); err != nil {
		return fmt.Errorf("cannot %s on BanyanDB node %s: cannot parse answer %q: %w", verb, c.addr, excerpt(data), err)
	}
	return nil
}

// httpCause rewords the error of a request: a lost connection says so.
func httpCause(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return fmt.Errorf("the connection was lost: %w", err)
	}
	return err
}

// Close closes idle connections.
func (c *httpClient) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// statusText describes a non-200 answer: its status and an excerpt of its
// body.
func statusText(status string, body []byte) string {
	if e := excerpt(body); e != "" {
		return "HTTP " + status + ": " + e
	}
	return "HTTP " + status
}

// excerpt returns the start of body on one line, at most 200 bytes.
func excerpt(body []byte) string {
	const limit = 200
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
