// Package sim is banyand-sim: a stand-in for a BanyanDB standalone server
// that banyan-backup's tests can start in a second and drive at will.
//
// It serves the two APIs a backup tool uses (gRPC
// banyandb.database.v1.SnapshotService/Snapshot and
// banyandb.common.v1.Service/GetAPIVersion, and their HTTP forms) over a data
// root laid out like a real server's, holds the server's flock locks, and
// runs a workload that changes the data the way BanyanDB does: flushes write
// new immutable parts and a new .snp, merges replace parts, new segments are
// opened as the simulated clock moves on, and Bluge indexes gain and lose
// files. Each shard's part of a snapshot is taken under the same mutex as
// every change, so that its .snp lists exactly its parts, with hard links for
// parts and segment metadata and copies for .snp and Bluge files, laid out
// like a real server's snapshots. As on a real server under writes, the rows
// written since the last flush are parts held in memory: named in no live
// .snp and with no directory, but listed in a snapshot's .snp
// (docs/banyandb.md, Snapshots); a catalog without groups gets no snapshot
// directory.
//
// Faults can be switched on (flags, Config.Faults, or POST /sim/faults): a slow
// snapshot, a catalog whose snapshot fails, and a connection closed without
// an answer.
//
// The package never prints; cmd/banyand-sim does.
package sim

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// Defaults of Config, those of a real server where it has them.
const (
	DefaultGRPCAddr           = "127.0.0.1:17912"
	DefaultHTTPAddr           = "127.0.0.1:17913"
	DefaultAPIVersion         = "0.11"
	DefaultAPIRevision        = "sim"
	DefaultMaxFileSnapshotNum = 10
	DefaultMinFileSnapshotAge = time.Hour
	DefaultPartSize           = 64 << 10
	DefaultClockStep          = time.Minute
)

// Config says how a Server runs. Start from DefaultConfig: numeric fields are
// taken as they are (zero switches a workload feature off).
type Config struct {
	// Root is the one root of every catalog: <Root>/<catalog>/data and
	// <Root>/<catalog>/snapshots. Required.
	Root string
	// GRPCAddr and HTTPAddr are the listen addresses; port 0 picks a free
	// port (see Server.GRPCAddr and Server.HTTPAddr).
	GRPCAddr, HTTPAddr string
	// APIVersion and APIRevision are what GetAPIVersion answers.
	APIVersion, APIRevision string
	// Location is the server's time zone, in which segments are named; nil
	// means UTC.
	Location *time.Location
	// Workload says how the data changes while the server runs.
	Workload Workload
	// MaxFileSnapshotNum and MinFileSnapshotAge drive the stale snapshot
	// cleanup done after each snapshot: when a catalog's snapshots/ holds
	// more than MaxFileSnapshotNum entries, those older than
	// MinFileSnapshotAge are deleted.
	MaxFileSnapshotNum int
	MinFileSnapshotAge time.Duration
	// Faults are the faults switched on at start; SetFaults changes them.
	Faults Faults
	// Now is the wall clock, used for snapshot names, .snp epochs and the
	// age of snapshots; nil means time.Now.
	Now func() time.Time
	// Cluster makes the server a data node or a liaison of a simulated
	// cluster; the zero value is a standalone server.
	Cluster Cluster
}

// Workload says how the simulated server changes its data.
type Workload struct {
	// FlushInterval is the time between two steps of the background
	// workload; 0 runs none (Server.Step still works). Each step flushes
	// the parts the previous one wrote into memory, then writes the next
	// ClockStep of rows into new parts in memory (see Server.Step).
	FlushInterval time.Duration
	// MergeEvery merges parts after every N flushes; 0 never.
	MergeEvery int
	// SegmentEvery moves the simulated clock to the next segment window
	// after every N flushes; 0 only when the clock gets there by ClockStep.
	SegmentEvery int
	// BlugeEvery adds a file to the Bluge indexes of the current segments
	// after every N flushes; 0 never.
	BlugeEvery int
	// PartSize is about the number of bytes of one new part.
	PartSize int64
	// ClockStep is the simulated time one flush covers.
	ClockStep time.Duration
	// StartTime is the simulated clock at start; zero means the start of
	// the newest segment of the written groups, or the wall clock when
	// there is none.
	StartTime time.Time
	// WriteGroups names the groups that get writes, as "group" or
	// "catalog/group"; nil means every measure, stream and trace group.
	WriteGroups []string
	// Seed makes the written bytes reproducible; 0 picks one at random.
	Seed uint64
}

// DefaultConfig returns the defaults for root: the server's ports and
// snapshot retention, no background workload, no faults.
func DefaultConfig(root string) Config {
	return Config{
		Root:               root,
		GRPCAddr:           DefaultGRPCAddr,
		HTTPAddr:           DefaultHTTPAddr,
		APIVersion:         DefaultAPIVersion,
		APIRevision:        DefaultAPIRevision,
		Location:           time.UTC,
		MaxFileSnapshotNum: DefaultMaxFileSnapshotNum,
		MinFileSnapshotAge: DefaultMinFileSnapshotAge,
		Workload: Workload{
			PartSize:  DefaultPartSize,
			ClockStep: DefaultClockStep,
		},
	}
}

// Server is one simulated BanyanDB standalone server. Create it with New,
// then Start and Stop it once each.
type Server struct {
	cfg   Config
	roots banyandb.Roots
	loc   *time.Location
	now   func() time.Time

	// mu guards the data directories and everything below it: a flush, a
	// merge, a new segment and a Bluge step each hold it throughout, and a
	// snapshot holds it while it takes each shard's (and segment's) part of
	// its cut (part list, .snp, copies), one after the other; it links the
	// pinned, immutable parts afterwards. The workload never writes the
	// property catalogs, whose snapshot copies need no lock.
	mu     sync.Mutex
	groups []*group
	// shardDirs finds the shards of groups by directory.
	shardDirs map[string]*shard
	// pins counts, per part directory, the snapshots that still have to
	// link it; doomed lists merged parts whose deletion waits for them.
	pins    map[string]int
	doomed  []string
	clock   time.Time
	flushes int
	rnd     *rand.ChaCha8

	seq    atomic.Uint32
	stats  counters
	faults faultBox

	// Cluster roles: the node's name (<host>:<gRPC port>, set by Start),
	// the placement table, and a liaison's queue (guarded by mu), peers
	// and sender.
	name      string
	table     []ShardKey
	queue     *queue
	peers     *peerSet
	deliverMu sync.Mutex
	kick      chan struct{}

	locks    *lockSet
	grpcSrv  *grpc.Server
	httpSrv  *http.Server
	grpcLn   *trackingListener
	httpLn   *trackingListener
	baseCtx  context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	started  time.Time
	state    atomic.Int32
	stopOnce sync.Once
	stopErr  error
}

// Server states.
const (
	stateNew int32 = iota
	stateStarted
	stateStopped
)

// New checks cfg and returns a server that is not started yet.
func New(cfg Config) (*Server, error) {
	if cfg.Root == "" {
		return nil, errors.New("cannot create simulator: no root")
	}
	if cfg.GRPCAddr == "" {
		cfg.GRPCAddr = DefaultGRPCAddr
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = DefaultHTTPAddr
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	if cfg.APIRevision == "" {
		cfg.APIRevision = DefaultAPIRevision
	}
	w := cfg.Workload
	switch {
	case w.FlushInterval < 0, w.MergeEvery < 0, w.SegmentEvery < 0, w.BlugeEvery < 0:
		return nil, errors.New("cannot create simulator: negative workload setting")
	case w.PartSize <= 0:
		return nil, fmt.Errorf("cannot create simulator: part size %d is not positive", w.PartSize)
	case w.ClockStep <= 0:
		return nil, fmt.Errorf("cannot create simulator: clock step %v is not positive", w.ClockStep)
	case cfg.MaxFileSnapshotNum < 0 || cfg.MinFileSnapshotAge < 0:
		return nil, errors.New("cannot create simulator: negative snapshot retention")
	}
	if err := cfg.Faults.check(); err != nil {
		return nil, fmt.Errorf("cannot create simulator: %w", err)
	}
	if err := cfg.Cluster.check(); err != nil {
		return nil, fmt.Errorf("cannot create simulator: %w", err)
	}
	cfg.Cluster = cfg.Cluster.withDefaults()
	s := &Server{cfg: cfg, roots: banyandb.Roots{Root: cfg.Root}, loc: cfg.Location, now: cfg.Now, pins: map[string]int{},
		shardDirs: map[string]*shard{}, peers: newPeerSet(), kick: make(chan struct{}, 1)}
	if cfg.Cluster.Schema != nil {
		s.table = PlacementTable(cfg.Cluster.Schema)
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.now == nil {
		s.now = time.Now
	}
	seed := w.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	s.rnd = rand.NewChaCha8(key)
	s.faults.set(cfg.Faults)
	return s, nil
}

// Start creates the catalogs' data directories if needed, takes the
// server's locks, reads the data, opens both listeners and starts serving
// and the workload. ctx bounds the start only; the server runs until Stop.
func (s *Server) Start(ctx context.Context) (err error) {
	if !s.state.CompareAndSwap(stateNew, stateStarted) {
		return errors.New("cannot start simulator: already started")
	}
	defer func() {
		if err != nil {
			s.cleanupFailedStart()
		}
	}()
	for _, c := range banyandb.AllCatalogs() {
		if err := os.MkdirAll(s.roots.DataDir(c), 0o755); err != nil {
			return fmt.Errorf("cannot create data directory: %w", err)
		}
	}
	if s.cfg.Cluster.Role != RoleStandalone {
		if err := s.prepareClusterDirs(); err != nil {
			return err
		}
	}
	if s.locks, err = acquireLocks(s.roots); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cannot start simulator: %w", err)
	}
	if err := s.loadRole(); err != nil {
		return err
	}
	var lc net.ListenConfig
	gl, err := lc.Listen(ctx, "tcp", s.cfg.GRPCAddr)
	if err != nil {
		return fmt.Errorf("cannot listen for gRPC on %s: %w", s.cfg.GRPCAddr, err)
	}
	s.grpcLn = newTrackingListener(gl)
	hl, err := lc.Listen(ctx, "tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("cannot listen for HTTP on %s: %w", s.cfg.HTTPAddr, err)
	}
	s.httpLn = newTrackingListener(hl)
	if err := s.setName(); err != nil {
		return err
	}
	if s.cfg.Cluster.Role == RoleLiaison {
		// The first look at the nodes, so that the first step has them.
		if _, err := s.RefreshNodes(ctx); err != nil {
			s.stats.noteError(err)
		}
	}

	s.baseCtx, s.cancel = context.WithCancel(context.Background())
	s.started = s.now()
	s.grpcSrv = s.newGRPCServer()
	s.httpSrv = &http.Server{
		Handler:           s.httpHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return s.baseCtx },
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		_ = s.grpcSrv.Serve(s.grpcLn) // returns when stopped
	}()
	go func() {
		defer s.wg.Done()
		_ = s.httpSrv.Serve(s.httpLn) // returns http.ErrServerClosed when stopped
	}()
	if s.cfg.Workload.FlushInterval > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runWorkload(s.baseCtx)
		}()
	}
	if s.cfg.Cluster.Role == RoleLiaison {
		s.startLiaisonLoops()
	}
	return nil
}

// cleanupFailedStart releases what a failed Start took.
func (s *Server) cleanupFailedStart() {
	if s.grpcLn != nil {
		s.grpcLn.Close()
	}
	if s.httpLn != nil {
		s.httpLn.Close()
	}
	if s.locks != nil {
		s.locks.release()
	}
	s.peers.close()
	s.state.Store(stateStopped)
}

// GRPCAddr returns the address the gRPC listener is bound to, such as
// 127.0.0.1:41234; "" before Start.
func (s *Server) GRPCAddr() string {
	if s.grpcLn == nil {
		return ""
	}
	return s.grpcLn.Addr().String()
}

// HTTPAddr returns the address the HTTP listener is bound to; "" before
// Start.
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

// Root returns the data root.
func (s *Server) Root() string { return s.cfg.Root }

// Stop stops the workload, then both listeners (letting calls in progress
// finish until ctx is done, then closing their connections), and releases
// the locks. It is safe to call more than once.
func (s *Server) Stop(ctx context.Context) error {
	if s.state.Load() != stateStarted {
		return nil
	}
	s.stopOnce.Do(func() {
		s.cancel() // stops the workload and slow snapshots
		var errs []error
		grpcDone := make(chan struct{})
		go func() {
			s.grpcSrv.GracefulStop()
			close(grpcDone)
		}()
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("cannot stop HTTP server: %w", err))
			s.httpSrv.Close()
		}
		select {
		case <-grpcDone:
		case <-ctx.Done():
			s.grpcSrv.Stop()
			<-grpcDone
		}
		s.wg.Wait()
		s.peers.close()
		s.mu.Lock() // no change or snapshot is under way past this point
		s.locks.release()
		s.mu.Unlock()
		s.state.Store(stateStopped)
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}
