// Command banyan-backup backs up and restores Apache SkyWalking BanyanDB
// data into a deduplicating, verifiable repository.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	_ "time/tzdata" // zones by name (--time-zone, zones backups record) without a system zone database

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/buildinfo"
	"github.com/banyan-backup/banyan-backup/internal/cluster"
	"github.com/banyan-backup/banyan-backup/internal/clusterrestore"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/storage/retry"
)

// The build's stamp, set by scripts/build.sh with -ldflags
// "-X main.version=… -X main.commit=… -X main.date=…"; what is left empty
// comes from the binary's build record (internal/buildinfo).
var version, commit, date string

// build is the running binary's identity.
func build() buildinfo.Info {
	return buildinfo.Get(buildinfo.Stamp{Version: version, Commit: commit, Date: date})
}

// Exit codes, documented in the README; 10, 11 and 12 are restic's.
const (
	exitOK          = 0
	exitError       = 1
	exitUsage       = 2
	exitIntegrity   = 3
	exitNoRepo      = 10
	exitLocked      = 11
	exitPassword    = 12
	exitInterrupted = 130
)

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitCode maps an error to the process exit code; the only place that does.
func exitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, repository.ErrIntegrity):
		return exitIntegrity
	case errors.As(err, &ue), errors.Is(err, restore.ErrNothingSelected), errors.Is(err, backup.ErrRootMismatch),
		errors.Is(err, banyandb.ErrTimeZone), errors.Is(err, clusterrestore.ErrUnknownNode), errors.Is(err, clusterrestore.ErrMapping),
		errors.Is(err, cluster.ErrDiscovery), errors.Is(err, cluster.ErrAgentAuth):
		return exitUsage
	case errors.Is(err, repository.ErrNoRepository), errors.Is(err, repository.ErrNotInitialized):
		return exitNoRepo
	case errors.Is(err, repository.ErrLocked), errors.Is(err, repository.ErrLockLost):
		return exitLocked
	case errors.Is(err, repository.ErrWrongPassword):
		return exitPassword
	case errors.Is(err, repository.ErrNeedCredentials), errors.Is(err, repository.ErrNotEncrypted):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitError
}

// cobraUsage makes the errors cobra returns for an unknown command or a
// wrong argument count of the root command usage errors.
func cobraUsage(err error) error {
	var ue usageError
	if err == nil || errors.As(err, &ue) {
		return err
	}
	if msg := err.Error(); strings.HasPrefix(msg, "unknown command ") || strings.HasPrefix(msg, "unknown flag") {
		return usageError{err}
	}
	return err
}

// hint replaces errors whose text alone does not say what to do.
func hint(err error) string {
	if errors.Is(err, context.Canceled) {
		return "interrupted: nothing was committed and the repository is intact; run the command again to resume"
	}
	return ""
}

// defaultMemoryLimit is the Go runtime's soft limit unless GOMEMLIMIT is
// set: backups and restores of 50,000 files hold 60–75 MiB live, and the
// limit keeps the garbage collector from letting the process grow to twice
// that. With the binary's own pages (about 20 MiB) the process stays under
// 128 MiB.
const defaultMemoryLimit = 104 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, g := newRootCmd()
	err := cobraUsage(root.ExecuteContext(ctx))
	if err != nil {
		msg := "banyan-backup: " + err.Error()
		if h := hint(err); h != "" {
			msg = "banyan-backup: " + h
		}
		fmt.Fprintln(os.Stderr, g.redactor().String(msg))
		if exitCode(err) == exitUsage {
			fmt.Fprintln(os.Stderr, "Run 'banyan-backup --help' for usage.")
		}
	}
	os.Exit(exitCode(err))
}

func newRootCmd() (*cobra.Command, *globals) {
	g := &globals{}
	root := &cobra.Command{
		Use:   "banyan-backup",
		Short: "Back up and restore Apache SkyWalking BanyanDB",
		Long: `banyan-backup backs up BanyanDB data roots into a deduplicating repository:
incremental forever, every blob checked by its BLAKE3 hash, restores verified.

The repository is given with --repo (a path, s3://, gs:// or azure:// URL), or
BANYAN_BACKUP_REPO.

` + envHelp() + `

Exit codes: 0 ok, 1 error, 2 usage (a restore selection matching no data
included), 3 integrity failure (damaged repository or data), 10 no repository
at --repo, 11 repository locked by another process, 12 wrong password or key
file, 130 interrupted.`,
		Version:       build().Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := flagsFromEnv(cmd); err != nil {
			return err
		}
		return g.checkProgress()
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&g.repo, "repo", "r", "", "repository location: a path, file:///path, s3://bucket/prefix, gs://bucket/prefix or azure://container/prefix (env BANYAN_BACKUP_REPO)")
	pf.BoolVar(&g.json, "json", false, "print machine-readable JSON on stdout")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print no progress")
	pf.DurationVar(&g.progressEvery, "progress-interval", defaultProgressInterval, "when stderr is not a terminal, or with --json, print a progress line on stderr this often (0: never)")
	g.store.register(pf)
	g.creds.register(pf)
	pf.IntVar(&g.storageTries, "storage-tries", retry.DefaultAttempts, "tries of a repository request that fails with a transient error (a dropped connection, a busy server), the first included; each waits longer, so a repository that cannot be reached fails a command after about 20 s at the default")
	pf.DurationVar(&g.lockWait, "lock-wait", 0, "while another process holds a conflicting repository lock (prune and forget are exclusive), retry for up to this long (e.g. 30m)")
	pf.StringVar(&g.cacheDir, "cache-dir", "", "where to cache manifests and index files of object-store repositories (default: the user cache directory, e.g. ~/.cache/banyan-backup)")
	pf.BoolVar(&g.noCache, "no-cache", false, "read manifests and index files from the repository every time")
	root.AddCommand(newInitCmd(g), newBackupCmd(g), newListCmd(g), newShowCmd(g), newLsCmd(g), newRestoreCmd(g), newVerifyCmd(g), newUnlockCmd(g), newCheckCmd(g), newServeCmd(g), newAgentCmd(g), newForgetCmd(g), newPruneCmd(g), newKeyCmd(g), newVersionCmd(g), newCopyCmd(g), newClusterCmd(g))
	return root, g
}

// argsUsage wraps a cobra argument validator so its errors are usage errors.
func argsUsage(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := v(cmd, args); err != nil {
			return usageError{err}
		}
		return nil
	}
}
