package agent

import (
	"time"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// The agent's API (docs/cluster.md, "The agent's API"): HTTP with JSON
// bodies, every request authenticated by a bearer token.

// Paths of the API.
const (
	PathPrepare  = "/v1/prepare"
	PathSnapshot = "/v1/snapshot"
	PathUpload   = "/v1/upload"
	PathCommit   = "/v1/commit"
	PathRelease  = "/v1/release"
	PathAbort    = "/v1/abort"
	PathStatus   = "/v1/status"
	// PathQueue reads a liaison's write queue (GET, ?operation=).
	PathQueue = "/v1/queue"
)

// Roles of the node an agent runs beside.
const (
	RoleData    = repository.RoleData
	RoleLiaison = repository.RoleLiaison
)

// Phases of an operation. An operation goes prepared, snapshotted,
// uploading, uploaded, committed; released when its snapshot is released
// before an upload began (a release after one leaves the phase as it is);
// failed when a step fails.
const (
	PhasePrepared    = "prepared"
	PhaseSnapshotted = "snapshotted"
	PhaseUploading   = "uploading"
	PhaseUploaded    = "uploaded"
	PhaseCommitted   = "committed"
	PhaseReleased    = "released"
	PhaseFailed      = "failed"
)

// PrepareRequest starts an operation.
type PrepareRequest struct {
	// Operation is the coordinator's id of the cluster backup, 32
	// lowercase hex digits.
	Operation string `json:"operation"`
	// Repository names one of the agent's repositories.
	Repository string `json:"repository"`
	// LeaseSeconds is how long the operation lives without a call naming
	// it; 0 means the agent's default.
	LeaseSeconds float64 `json:"lease_seconds,omitempty"`
}

// PrepareResponse says what the agent found.
type PrepareResponse struct {
	Node         string    `json:"node"`
	Role         string    `json:"role"`
	APIVersion   string    `json:"api_version,omitempty"`
	AgentVersion string    `json:"agent_version"`
	Clock        time.Time `json:"clock"`
	LeaseUntil   time.Time `json:"lease_until"`
	// FlushTimeouts are the node's flush timeouts per catalog, from the
	// agent's configuration, for the set's watermark.
	FlushTimeouts map[string]string `json:"flush_timeouts,omitempty"`
}

// OperationRequest names the operation a call is for.
type OperationRequest struct {
	Operation string `json:"operation"`
}

// SnapshotResponse is what a snapshot call took.
type SnapshotResponse struct {
	// Start and End bracket the node's snapshot call (a liaison's queue
	// reading), by the agent's clock.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Snapshots are the catalogs' snapshots (data nodes).
	Snapshots []TakenSnapshot `json:"snapshots,omitempty"`
	// Queue is a liaison's write queue.
	Queue *repository.LiaisonQueue `json:"queue,omitempty"`
}

// TakenSnapshot is one catalog's snapshot.
type TakenSnapshot struct {
	Catalog string `json:"catalog"`
	Name    string `json:"name"`
}

// UploadRequest starts the upload of the operation's snapshot.
type UploadRequest struct {
	Operation string `json:"operation"`
	// Tags are recorded in the node's backup.
	Tags []string `json:"tags,omitempty"`
}

// CommitRequest writes the node's backup.
type CommitRequest struct {
	Operation string `json:"operation"`
	// SetOperation is the cluster backup the node's backup belongs to,
	// recorded as its cluster_operation: the operation id of the set the
	// coordinator writes. 32 lowercase hex digits.
	SetOperation string `json:"set_operation"`
}

// CommitResponse names the node's backup.
type CommitResponse struct {
	// Backup is the id of the node's backup; empty for a liaison, whose
	// agent uploads nothing.
	Backup string `json:"backup,omitempty"`
	// LackingParts counts the parts the snapshot listed but lacked.
	LackingParts int `json:"lacking_parts,omitempty"`
}

// UploadProgress is how far an upload has gone.
type UploadProgress struct {
	// Step is "scan" while the snapshot is scanned, "backup" while its
	// files are read and stored.
	Step string `json:"step"`
	// Files and Bytes are what the step has to read (0 while unknown;
	// files unchanged since the parent backup are not read), FilesDone
	// and BytesDone what it has read.
	Files     int64 `json:"files"`
	Bytes     int64 `json:"bytes"`
	FilesDone int64 `json:"files_done"`
	BytesDone int64 `json:"bytes_done"`
}

// StatusResponse is the agent's state.
type StatusResponse struct {
	Node         string           `json:"node"`
	Role         string           `json:"role"`
	AgentVersion string           `json:"agent_version"`
	Operation    *OperationStatus `json:"operation,omitempty"`
}

// OperationStatus is the state of the agent's operation.
type OperationStatus struct {
	ID         string            `json:"id"`
	Phase      string            `json:"phase"`
	Repository string            `json:"repository"`
	LeaseUntil time.Time         `json:"lease_until"`
	Snapshot   *SnapshotResponse `json:"snapshot,omitempty"`
	// Progress is the upload's, once it began.
	Progress *UploadProgress `json:"progress,omitempty"`
	// Summary is the upload's once it is done (as a backup's summary),
	// and LackingParts the parts the snapshot listed but lacked.
	Summary      *repository.Summary `json:"summary,omitempty"`
	LackingParts int                 `json:"lacking_parts,omitempty"`
	// Backup is the node's backup once committed.
	Backup string `json:"backup,omitempty"`
	// Warning says what went wrong without failing the operation (a
	// snapshot that could not all be removed).
	Warning string `json:"warning,omitempty"`
	Error   string `json:"error,omitempty"`
}

// ErrorResponse is the body of an error answer.
type ErrorResponse struct {
	Error string `json:"error"`
}
