package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
)

// agentFlags are the agent's options.
type agentFlags struct {
	listen, tokenFile, role, nodeName, stateDir string
	tlsCert, tlsKey, clientCA                   string
	repositories                                []string
	flushTimeouts                               []string
	lease                                       time.Duration
	node                                        snapshot.Options
	roots                                       rootFlags
	limits                                      limitFlags
}

func newAgentCmd(g *globals) *cobra.Command {
	f := &agentFlags{}
	cmd := &cobra.Command{
		Use:   "agent --token-file FILE --role data|liaison --root DIR",
		Short: "Serve a cluster backup coordinator beside one BanyanDB node (prepare, snapshot, upload, commit)",
		Long: `Run the cluster backup agent beside one BanyanDB data node or liaison (a sidecar,
or a unit on the node's machine). A coordinator calls its HTTP API to prepare
the node, take its snapshot (a liaison's agent reads its write queue instead),
upload the snapshot into one of the agent's repositories, commit the node's
backup and release the snapshot; see docs/cluster.md.

Every request must carry "Authorization: Bearer TOKEN", TOKEN being the
content of --token-file (at least 32 characters; the file is read again when
it changes). Anything else, on any path, is refused with 401. With --tls-cert
and --tls-key the API is served over TLS, and with --client-ca clients must
also present a certificate of that CA.

An operation lives under a lease: when the coordinator stops calling, the
agent stops its upload (no backup is written) and deletes the node's snapshot
by itself once the lease ends. An agent killed with a snapshot taken deletes
it when it starts again (--state-dir).

The repositories the agent may write to are its own (--repository
NAME=URL, with the global credential flags); the coordinator only names one.
Uploads read the node's snapshot as a live backup does (deleting each part
directory once read), within --limit-read and --limit-upload; the node's
backup records the node's name (--node-name) as its host.`,
		Example: `  banyan-backup agent --token-file /etc/banyan-backup/agent.token --role data \
    --node 127.0.0.1:17912 --root /var/lib/banyandb --listen 0.0.0.0:17950 \
    --repository main=s3://backups/banyandb --password-file /etc/banyan-backup/password`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAgent(cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:17950", "address of the agent's API")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token every request must carry (required)")
	fl.StringVar(&f.role, "role", agent.RoleData, "the node's role: data or liaison")
	fl.StringVar(&f.nodeName, "node-name", "", "the node's name as BanyanDB gives it, HOST:PORT (default: this machine's hostname and the port of --node, 17912 for a data node, 18912 for a liaison)")
	fl.StringVar(&f.stateDir, "state-dir", "", "directory for the operation's state (default: banyan-backup/agent in the user cache directory)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve TLS with this certificate (PEM)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "the key of --tls-cert (PEM)")
	fl.StringVar(&f.clientCA, "client-ca", "", "require client certificates signed by a CA of this PEM file (mutual TLS)")
	fl.StringArrayVar(&f.repositories, "repository", nil, "a repository the agent may write to, NAME=URL (repeatable)")
	fl.StringSliceVar(&f.flushTimeouts, "flush-timeouts", []string{"measure=5s", "stream=1s", "trace=1s"}, "the node's flush timeouts per catalog, for the set's watermark")
	fl.DurationVar(&f.lease, "lease", agent.DefaultLease, "an operation's lease when the coordinator gives none")
	fl.StringVar(&f.node.Node, "node", "", "data node: its snapshot API, HOST:PORT (gRPC) or http(s)://HOST:PORT")
	fl.BoolVar(&f.node.TLS, "tls", false, "use TLS for the node's gRPC API")
	fl.StringVar(&f.node.CACert, "ca-cert", "", "PEM file of the CA that signed the node's certificate")
	fl.BoolVar(&f.node.InsecureSkipVerify, "insecure-skip-verify", false, "do not verify the node's TLS certificate")
	fl.DurationVar(&f.node.ConnectTimeout, "connect-timeout", snapshot.DefaultConnectTimeout, "how long to try to reach the node")
	fl.DurationVar(&f.node.CallTimeout, "call-timeout", snapshot.DefaultCallTimeout, "how long the node may take to answer one call")
	addRootFlags(cmd, &f.roots)
	addLimitFlags(cmd, &f.limits, true)
	return cmd
}

// agentOptions turns the flags into the agent's options.
func agentOptions(g *globals, f *agentFlags) (agent.Options, error) {
	o := agent.Options{TokenFile: f.tokenFile, Role: f.role, Node: f.node, Lease: f.lease, Version: version,
		FlushTimeouts: map[string]time.Duration{}}
	if f.tokenFile == "" {
		return o, usagef("no token file given: use --token-file FILE (make the token with `head -c 32 /dev/urandom | base64`)")
	}
	if f.role != agent.RoleData && f.role != agent.RoleLiaison {
		return o, usagef("invalid --role %q: use data or liaison", f.role)
	}
	if f.role == agent.RoleData && f.node.Node == "" {
		return o, usagef("a data node's agent needs --node HOST:PORT, the node's snapshot API")
	}
	roots, cats, loc, err := f.roots.resolve()
	if err != nil {
		return o, err
	}
	lim, err := f.limits.apply()
	if err != nil {
		return o, err
	}
	o.Roots = roots
	o.Upload = backup.Options{Catalogs: cats, Location: loc, Workers: lim.workers, ReadLimit: lim.read}
	for _, kv := range f.flushTimeouts {
		c, v, ok := strings.Cut(kv, "=")
		d, err := time.ParseDuration(v)
		if !ok || err != nil {
			return o, usagef("invalid --flush-timeouts %q: give CATALOG=DURATION, such as measure=5s", kv)
		}
		o.FlushTimeouts[c] = d
	}
	if o.NodeName, err = agentNodeName(f); err != nil {
		return o, err
	}
	if o.StateDir = f.stateDir; o.StateDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			return o, usagef("no --state-dir given and no user cache directory: %v", err)
		}
		o.StateDir = filepath.Join(dir, "banyan-backup", "agent")
	}
	repos := map[string]string{}
	for _, kv := range f.repositories {
		name, url, ok := strings.Cut(kv, "=")
		if !ok || name == "" || url == "" {
			return o, usagef("invalid --repository %q: give NAME=URL", kv)
		}
		repos[name] = url
	}
	o.OpenRepository = func(ctx context.Context, name string) (*engine.Repo, error) {
		url, ok := repos[name]
		if !ok {
			return nil, fmt.Errorf("the agent has no repository %q (it has %d; see --repository)", name, len(repos))
		}
		return g.openWithCredentials(ctx, url, g.storeOptions(&lim))
	}
	return o, nil
}

// agentNodeName is --node-name, or this machine's hostname with the port
// of --node (a data node) or the liaison's internal port.
func agentNodeName(f *agentFlags) (string, error) {
	if f.nodeName != "" {
		return f.nodeName, nil
	}
	host, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("cannot name the node: %w (give --node-name)", err)
	}
	port := strconv.Itoa(snapshot.DefaultGRPCPort)
	if f.role == agent.RoleLiaison {
		port = "18912"
	} else if _, p, err := net.SplitHostPort(strings.TrimPrefix(f.node.Node, "grpc://")); err == nil && !strings.Contains(f.node.Node, "http") {
		port = p
	}
	return net.JoinHostPort(host, port), nil
}

func runAgent(cmd *cobra.Command, g *globals, f *agentFlags) error {
	opts, err := agentOptions(g, f)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
	opts.OnRefuse = func(r *http.Request, err error) {
		logger.Warn("request refused", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path, "reason", err.Error())
	}
	ctx := cmd.Context()
	a, err := agent.New(ctx, opts)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if f.tlsCert != "" || f.tlsKey != "" || f.clientCA != "" {
		if hs.TLSConfig, err = agent.ServerTLS(f.tlsCert, f.tlsKey, f.clientCA); err != nil {
			return usageError{err}
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", f.listen, err)
	}
	done := make(chan error, 1)
	go func() {
		if hs.TLSConfig != nil {
			done <- hs.ServeTLS(ln, "", "")
		} else {
			done <- hs.Serve(ln)
		}
	}()
	logger.Info("listening", "addr", ln.Addr().String(), "node", opts.NodeName, "role", opts.Role, "tls", hs.TLSConfig != nil,
		"mutual_tls", f.clientCA != "", "pid", os.Getpid())
	select {
	case <-ctx.Done():
	case err := <-done:
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("cannot serve: %w", err)
		}
	}
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(stopCtx)
	if err := a.Close(stopCtx); err != nil {
		return fmt.Errorf("cannot release the operation: %w", err)
	}
	logger.Info("stopped")
	return nil
}
