package sim

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the simulator's counters since Start (GET /sim/stats).
type Stats struct {
	// Flushes counts workload steps (Step, Flush); each writes one part
	// per shard of every written group, held in memory until the next
	// flush.
	Flushes int64 `json:"flushes"`
	// Merges counts shard merges; PartsMerged the parts they replaced.
	Merges      int64 `json:"merges"`
	PartsMerged int64 `json:"parts_merged"`
	// PartsWritten counts new part directories, by flushes and merges.
	PartsWritten int64 `json:"parts_written"`
	// PartsInMemory is the number of parts written and not flushed yet,
	// now: a snapshot's .snp lists them, but it cannot link them.
	PartsInMemory int64 `json:"parts_in_memory"`
	// SegmentsCreated counts new segment directories.
	SegmentsCreated int64 `json:"segments_created"`
	// BlugeFilesWritten counts new Bluge .seg files.
	BlugeFilesWritten int64 `json:"bluge_files_written"`
	// BytesWritten counts the bytes of every data file written.
	BytesWritten int64 `json:"bytes_written"`
	// WriteRate is BytesWritten per second of uptime.
	WriteRate float64 `json:"write_rate_bytes_per_second"`
	// SnapshotCalls counts snapshot requests that reached the simulator
	// (dropped connections included).
	SnapshotCalls int64 `json:"snapshot_calls"`
	// SnapshotsTaken counts catalog snapshot directories made;
	// SnapshotsDeleted those removed by the stale snapshot cleanup.
	SnapshotsTaken   int64 `json:"snapshots_taken"`
	SnapshotsDeleted int64 `json:"snapshots_deleted"`
	// Clock is the simulated clock.
	Clock time.Time `json:"clock"`
	// UptimeSeconds is the time since Start.
	UptimeSeconds float64 `json:"uptime_seconds"`
	// Errors counts failed background workload steps and cleanups;
	// LastError is the latest.
	Errors    int64  `json:"errors"`
	LastError string `json:"last_error,omitempty"`

	// Liaison: PartsQueued is the number of flushed parts waiting in the
	// queue now; PartsSent counts parts sent to a data node (one per
	// replica), PartsDelivered the parts every replica got (deleted from
	// the queue), PartsFailed those moved to failed-parts/, SyncErrors
	// the calls to data nodes that failed.
	PartsQueued    int64 `json:"parts_queued,omitempty"`
	PartsSent      int64 `json:"parts_sent,omitempty"`
	PartsDelivered int64 `json:"parts_delivered,omitempty"`
	PartsFailed    int64 `json:"parts_failed,omitempty"`
	SyncErrors     int64 `json:"sync_errors,omitempty"`
	// Data node: PartsReceived counts parts taken from liaisons,
	// PartsRefused those refused by the refuse_parts fault.
	PartsReceived int64 `json:"parts_received,omitempty"`
	PartsRefused  int64 `json:"parts_refused,omitempty"`
}

// counters are the live values behind Stats.
type counters struct {
	flushes, merges, partsMerged, partsWritten      atomic.Int64
	partsInMemory                                   atomic.Int64
	segments, blugeFiles, bytesWritten              atomic.Int64
	snapshotCalls, snapshotsTaken, snapshotsDeleted atomic.Int64
	clock                                           atomic.Int64 // Unix ns
	errors                                          atomic.Int64
	partsQueued, partsSent, partsDelivered          atomic.Int64
	partsFailed, syncErrors                         atomic.Int64
	partsReceived, partsRefused                     atomic.Int64

	mu        sync.Mutex
	lastError string
}

// noteError counts a background error and remembers its text.
func (c *counters) noteError(err error) {
	c.errors.Add(1)
	c.mu.Lock()
	c.lastError = err.Error()
	c.mu.Unlock()
}

// Stats returns the counters now.
func (s *Server) Stats() Stats {
	c := &s.stats
	st := Stats{
		Flushes:           c.flushes.Load(),
		Merges:            c.merges.Load(),
		PartsMerged:       c.partsMerged.Load(),
		PartsWritten:      c.partsWritten.Load(),
		PartsInMemory:     c.partsInMemory.Load(),
		SegmentsCreated:   c.segments.Load(),
		BlugeFilesWritten: c.blugeFiles.Load(),
		BytesWritten:      c.bytesWritten.Load(),
		SnapshotCalls:     c.snapshotCalls.Load(),
		SnapshotsTaken:    c.snapshotsTaken.Load(),
		SnapshotsDeleted:  c.snapshotsDeleted.Load(),
		Clock:             time.Unix(0, c.clock.Load()).In(s.loc),
		Errors:            c.errors.Load(),
		PartsQueued:       c.partsQueued.Load(),
		PartsSent:         c.partsSent.Load(),
		PartsDelivered:    c.partsDelivered.Load(),
		PartsFailed:       c.partsFailed.Load(),
		SyncErrors:        c.syncErrors.Load(),
		PartsReceived:     c.partsReceived.Load(),
		PartsRefused:      c.partsRefused.Load(),
	}
	c.mu.Lock()
	st.LastError = c.lastError
	c.mu.Unlock()
	if !s.started.IsZero() {
		up := s.now().Sub(s.started).Seconds()
		st.UptimeSeconds = up
		if up > 0 {
			st.WriteRate = float64(st.BytesWritten) / up
		}
	}
	return st
}
