// Command banyand-sim simulates a BanyanDB standalone server for
// banyan-backup's tests: the snapshot and version APIs (gRPC and HTTP), the
// server's locks, a workload that flushes, merges and opens segments like
// the real one, and switchable faults. With --role data or --role liaison
// it runs one node of a simulated cluster (docs/cluster.md, "The
// simulator's cluster mode"). See package internal/sim.
//
// Once both listeners are open it prints, on stdout,
//
//	grpc 127.0.0.1:41234
//	http 127.0.0.1:41235
//	ready
//
// (a cluster node prints "name <host>:<gRPC port>" before "ready") and runs
// until SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/sim"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// stopTimeout bounds the graceful shutdown.
const stopTimeout = 10 * time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// options are the parsed flags.
type options struct {
	cfg         sim.Config
	fromFixture string
	schemaFile  string
	replicas    int
}

// run parses args, starts the simulator, prints its addresses and waits
// for ctx to end; it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "banyand-sim:", err)
		return exitUsage
	}
	if err := prepare(ctx, opts); err != nil {
		fmt.Fprintln(stderr, "banyand-sim:", err)
		return exitError
	}
	srv, err := sim.New(opts.cfg)
	if err == nil {
		err = srv.Start(ctx)
	}
	if err != nil {
		fmt.Fprintln(stderr, "banyand-sim:", err)
		return exitError
	}
	fmt.Fprintf(stdout, "grpc %s\nhttp %s\n", srv.GRPCAddr(), srv.HTTPAddr())
	if srv.Role() != sim.RoleStandalone {
		fmt.Fprintf(stdout, "name %s\n", srv.Name())
	}
	fmt.Fprintln(stdout, "ready")
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	defer cancel()
	if err := srv.Stop(stopCtx); err != nil {
		fmt.Fprintln(stderr, "banyand-sim:", err)
		return exitError
	}
	return exitOK
}

// parseFlags turns the command line into options.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("banyand-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := sim.DefaultConfig("")
	o := &options{cfg: def}
	c := &o.cfg
	var (
		timeZone, partSize, startTime, writeGroups string
		role, failedMax                            string
		slow                                       time.Duration
	)
	fs.StringVar(&c.Root, "root", "", "data root of every catalog: <root>/<catalog>/data and snapshots (required)")
	fs.StringVar(&o.fromFixture, "from-fixture", "", "copy the <catalog>/data trees of this fixture (archive, extracted fixture or root) into --root first")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", def.GRPCAddr, "gRPC listen address (port 0 picks a free port)")
	fs.StringVar(&c.HTTPAddr, "http-addr", def.HTTPAddr, "HTTP listen address (port 0 picks a free port)")
	fs.StringVar(&c.APIVersion, "api-version", def.APIVersion, "version answered by GetAPIVersion")
	fs.StringVar(&c.APIRevision, "api-revision", def.APIRevision, "revision answered by GetAPIVersion")
	fs.StringVar(&timeZone, "time-zone", "UTC", "time zone of segment names (an IANA name, or Local)")
	fs.DurationVar(&c.Workload.FlushInterval, "flush-interval", 200*time.Millisecond, "time between workload flushes (0: no workload)")
	fs.IntVar(&c.Workload.MergeEvery, "merge-every", 4, "merge parts after every N flushes (0: never)")
	fs.IntVar(&c.Workload.SegmentEvery, "segment-every", 0, "move to the next segment window after every N flushes (0: only by --clock-step)")
	fs.IntVar(&c.Workload.BlugeEvery, "bluge-every", 10, "add a Bluge index file after every N flushes (0: never)")
	fs.StringVar(&partSize, "part-size", "64KiB", "about the size of one new part")
	fs.DurationVar(&c.Workload.ClockStep, "clock-step", def.Workload.ClockStep, "simulated time one flush covers")
	fs.StringVar(&startTime, "start-time", "", "simulated clock at start, RFC 3339 (default: start of the newest segment, else now)")
	fs.StringVar(&writeGroups, "write-groups", "", "comma-separated groups that get writes, as group or catalog/group (default: every measure, stream and trace group)")
	fs.Uint64Var(&c.Workload.Seed, "seed", 0, "seed of the written bytes (0: random)")
	fs.IntVar(&c.MaxFileSnapshotNum, "max-file-snapshot-num", def.MaxFileSnapshotNum, "stale snapshot cleanup starts above this many snapshots per catalog")
	fs.DurationVar(&c.MinFileSnapshotAge, "min-file-snapshot-age", def.MinFileSnapshotAge, "stale snapshot cleanup deletes only snapshots older than this")
	fs.DurationVar(&slow, "slow-snapshot", 0, "fault: delay every snapshot by this long")
	fs.StringVar(&c.Faults.ErrorCatalog, "error-catalog", "", "fault: comma-separated catalogs whose snapshot fails (measure, stream, trace, property, schema-property)")
	fs.BoolVar(&c.Faults.DropConnection, "drop-connection", false, "fault: close the connection of every snapshot call without answering")
	fs.BoolVar(&c.Faults.DropAfterSnapshot, "drop-after-snapshot", false, "fault: take the snapshot, then close the connection without answering")
	cl := &c.Cluster
	fs.StringVar(&role, "role", "standalone", "standalone, or a cluster's data or liaison node")
	fs.StringVar(&o.schemaFile, "schema", "", "cluster: the group list (JSON: groups of catalog, name, shards, segment_interval, replicas, index_rules); default: derived from --from-fixture")
	fs.IntVar(&o.replicas, "replicas", 0, "cluster: the replicas of every group of a schema derived from --from-fixture")
	fs.StringVar(&cl.NodeHost, "node-host", "", "cluster: the host of the node's name <host>:<gRPC port> (default: the hostname)")
	fs.StringVar(&cl.DiscoveryFile, "node-discovery-file", "", "liaison: the node discovery file (BanyanDB's YAML: nodes of name, grpc_address)")
	fs.DurationVar(&cl.DiscoveryInterval, "node-discovery-interval", sim.DefaultDiscoveryInterval, "liaison: how often to read the discovery file and ask the nodes whether they are up")
	fs.DurationVar(&cl.SyncInterval, "sync-interval", 200*time.Millisecond, "liaison: how often to deliver queued parts (0: never by itself)")
	fs.IntVar(&cl.SyncAttempts, "sync-attempts", sim.DefaultSyncAttempts, "liaison: delivery rounds a part may fail before it goes to failed-parts/")
	fs.StringVar(&failedMax, "failed-parts-max-size", "16MiB", "liaison: the size cap of each queue shard's failed-parts/")
	fs.BoolVar(&c.Faults.RefuseParts, "refuse-parts", false, "fault (data node): refuse every part a liaison sends")
	fs.BoolVar(&c.Faults.HoldQueue, "hold-queue", false, "fault (liaison): deliver nothing; the queue grows")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.Root == "" {
		return nil, errors.New("--root is required")
	}
	c.Faults.SlowSnapshot = sim.Duration(slow)
	loc, err := time.LoadLocation(timeZone)
	if err != nil {
		return nil, fmt.Errorf("cannot parse --time-zone: %w", err)
	}
	c.Location = loc
	if c.Workload.PartSize, err = sim.ParseSize(partSize); err != nil {
		return nil, fmt.Errorf("cannot parse --part-size: %w", err)
	}
	if startTime != "" {
		if c.Workload.StartTime, err = time.Parse(time.RFC3339, startTime); err != nil {
			return nil, fmt.Errorf("cannot parse --start-time: %w", err)
		}
	}
	if strings.TrimSpace(writeGroups) != "" {
		c.Workload.WriteGroups = strings.Split(writeGroups, ",")
	}
	if cl.Role, err = sim.ParseRole(role); err != nil {
		return nil, fmt.Errorf("cannot parse --role: %w", err)
	}
	if cl.FailedPartsMax, err = sim.ParseSize(failedMax); err != nil {
		return nil, fmt.Errorf("cannot parse --failed-parts-max-size: %w", err)
	}
	if cl.Role != sim.RoleStandalone && o.schemaFile == "" && o.fromFixture == "" {
		return nil, fmt.Errorf("--role %s needs --schema or --from-fixture", cl.Role)
	}
	if cl.Role == sim.RoleLiaison && cl.DiscoveryFile == "" {
		return nil, errors.New("--role liaison needs --node-discovery-file")
	}
	return o, nil
}

// prepare seeds the root from the fixture as the role wants it and loads
// or derives a cluster node's schema: a standalone server gets the
// fixture's data, a data node its schemas and property data, a liaison
// nothing.
func prepare(ctx context.Context, o *options) error {
	cl := &o.cfg.Cluster
	if o.schemaFile != "" && cl.Role != sim.RoleStandalone {
		s, err := sim.LoadSchema(o.schemaFile)
		if err != nil {
			return err
		}
		cl.Schema = s
	}
	if o.fromFixture == "" {
		return nil
	}
	return sim.WithFixtureRoot(o.fromFixture, func(dir string) error {
		if cl.Role != sim.RoleStandalone && cl.Schema == nil {
			s, err := sim.SchemaFromRoot(dir, o.cfg.Location, o.replicas)
			if err != nil {
				return err
			}
			cl.Schema = s
		}
		switch cl.Role {
		case sim.RoleStandalone:
			return sim.SeedFromFixture(ctx, dir, o.cfg.Root)
		case sim.RoleData:
			return sim.SeedClusterNode(ctx, dir, o.cfg.Root)
		}
		return nil
	})
}
