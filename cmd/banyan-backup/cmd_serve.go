package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/serve"
)

func newServeCmd(g *globals) *cobra.Command {
	var (
		configPath, listen, logLevel string
		check                        bool
		grace                        time.Duration
		lf                           limitFlags
		sf                           secFlags
	)
	cmd := &cobra.Command{
		Use:   "serve --config FILE.yaml",
		Short: "Run scheduled backup jobs as a sidecar, with Prometheus metrics and an HTTP API",
		Long: `Run the jobs of a YAML config file on their schedules: each backs up a node
(live through its snapshot API, or a stopped node's root) into one or more
repositories, then applies its retention policy.

A run due while the job's previous run is still going is skipped, logged and
counted (banyan_backup_runs_skipped_total{reason="overlap"}). On SIGTERM or
SIGINT, running backups may finish within --shutdown-grace (or the config's
shutdown_grace); after that they are cancelled, and a cancelled backup writes
no manifest: nothing half-written is ever listed.

HTTP (--listen, or the config's listen):
  GET  /metrics                    Prometheus metrics
  GET  /healthz                    liveness: 200 while serve runs
  GET  /readyz                     readiness: 503 when a job's last run failed or
                                   no success is known within two schedule intervals
  GET  /api/v1/jobs                jobs, next runs, last results
  GET  /api/v1/jobs/JOB/backups    the job's backups in each repository
  POST /api/v1/jobs/JOB/run        start the job now (409 if it is running)

The API needs "Authorization: Bearer TOKEN" (--token-file) or a client
certificate signed by --tls-client-ca (with --tls-cert and --tls-key), except
on a loopback address; elsewhere serve refuses to start without one unless
--insecure-no-auth. Requests with a foreign Origin, and API requests naming a
host other than an IP address, localhost, the --listen host or
--allowed-hosts, are refused (403). /metrics and /healthz need no credentials.

Logs are JSON lines on stderr. Repository credentials never appear in logs
or answers. The --limit-* flags and --concurrency apply to jobs that set no
limits of their own; --cpus, --nice and --ionice to the whole process.`,
		Example: `  banyan-backup serve --config /etc/banyan-backup/serve.yaml
  banyan-backup serve --config serve.yaml --check          # check the config and exit
  banyan-backup serve --config serve.yaml --listen 0.0.0.0:9108 --token-file /etc/banyan-backup/token --limit-upload 20MiB --ionice idle`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" {
				return usagef("no config given: use --config FILE.yaml to name the YAML file of the jobs to run")
			}
			cfg, err := serve.LoadConfig(configPath)
			if err != nil {
				var ce *serve.ConfigError
				if errors.As(err, &ce) {
					return usageError{err}
				}
				return err
			}
			if check {
				return checkServe(cmd, g, cfg, configPath)
			}
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return usagef("invalid --log-level %q: want debug, info, warn or error", logLevel)
			}
			lim, err := lf.apply()
			if err != nil {
				return err
			}
			logger := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			if listen == "" {
				listen = cfg.Listen
			}
			srv := serve.New(cfg, serve.Options{Logger: logger, Upload: lim.upload, Download: lim.download, Read: lim.read,
				Workers: lim.workers, ToolVersion: build().Version, Build: build(), LockWait: serveLockWait(g.lockWait), Secrets: g.redactor(),
				Store: engine.StoreOptions{Backends: g.store.options(), CacheDir: g.cacheRoot()}})
			ln, access, tlsOn, err := sf.listen(cfg, listen)
			if err != nil {
				return err
			}
			hs := &http.Server{Handler: srv.Handler(access), ReadHeaderTimeout: 10 * time.Second,
				ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)} // TLS handshake errors as JSON lines
			go func() {
				if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
					logger.Error("HTTP server stopped", "error", err.Error())
				}
			}()
			for _, j := range srv.Jobs() {
				logger.Info("job loaded", "job", j.Name, "schedule", j.Schedule, "node", j.Node, "repositories", j.Repositories, "retention", j.Retention)
			}
			logger.Info("listening", "addr", ln.Addr().String(), "pid", os.Getpid(), "api_auth", authName(access), "tls", tlsOn)
			if access.NoAuth && sf.sec.InsecureNoAuth {
				logger.Warn("the API needs no authentication (--insecure-no-auth): anyone who reaches the address can start backups and read the backup lists")
			}
			if !cmd.Flags().Changed("shutdown-grace") {
				grace = time.Duration(cfg.ShutdownGrace)
			}
			srv.Run(cmd.Context(), grace)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = hs.Shutdown(ctx)
			logger.Info("stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, "config", "", "the YAML config file of the jobs")
	f.StringVar(&listen, "listen", "", "HTTP address for /metrics, /healthz and /api (default: the config's listen, else 127.0.0.1:9108)")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.BoolVar(&check, "check", false, "check the config file, and that every job's data root, repositories and node are there, and exit")
	f.DurationVar(&grace, "shutdown-grace", 30*time.Second, "after SIGTERM, how long running backups may go on before they are cancelled (when not given: the config's shutdown_grace)")
	addLimitFlags(cmd, &lf, true)
	sf.add(cmd)
	return cmd
}

// serveLockWait is how long scheduled jobs wait for a repository lock:
// --lock-wait, or by default 10 minutes, so that a prune run by hand delays
// a scheduled backup instead of failing it.
func serveLockWait(flag time.Duration) time.Duration {
	if flag > 0 {
		return flag
	}
	return 10 * time.Minute
}

// checkServe runs serve --check: the config was loaded; every job's roots,
// repositories and node must be there too.
func checkServe(cmd *cobra.Command, g *globals, cfg *serve.Config, configPath string) error {
	srv := serve.New(cfg, serve.Options{Store: engine.StoreOptions{Backends: g.store.options(), CacheDir: g.cacheRoot()}})
	problems := srv.Preflight(cmd.Context())
	if g.json {
		if problems == nil {
			problems = []serve.Problem{}
		}
		if err := printJSON(cmd.OutOrStdout(), map[string]any{"ok": len(problems) == 0, "jobs": len(cfg.Jobs), "problems": problems}); err != nil {
			return err
		}
	} else if len(problems) == 0 {
		fmt.Fprintf(cmd.OutOrStdout(), "%s: ok, %d jobs: roots, repositories and nodes found\n", configPath, len(cfg.Jobs))
	}
	if len(problems) == 0 {
		return nil
	}
	lines := make([]string, 0, len(problems))
	for _, p := range problems {
		lines = append(lines, "  "+p.String())
	}
	return fmt.Errorf("%s: %d problems:\n%s", configPath, len(problems), strings.Join(lines, "\n"))
}
