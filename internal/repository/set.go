package repository

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// SetFormat is the backup set layout version this release writes.
const SetFormat = 1

// Node roles in a set.
const (
	RoleData    = "data"
	RoleLiaison = "liaison"
)

// Set is a backup set: one committed cluster backup, naming one node
// backup per data node (and per liaison whose data was backed up), with
// the times that say how they relate (docs/cluster.md, "The backup set
// object"). A set exists once its object exists; its members are ordinary
// manifests whose ClusterOperation is the set's Operation.
type Set struct {
	Format int `json:"format"`
	// Operation is the id of the cluster backup (32 hex digits), which
	// every member manifest records.
	Operation string    `json:"operation"`
	Time      time.Time `json:"time"`
	// Cluster names the cluster; retention judges sets of one cluster
	// together.
	Cluster     string   `json:"cluster"`
	Coordinator string   `json:"coordinator,omitempty"`
	ToolVersion string   `json:"tool_version"`
	Tags        []string `json:"tags,omitempty"`
	// Nodes, sorted by name, one per node of the cluster.
	Nodes []SetNode `json:"nodes"`
	// Window runs from the earliest start to the latest end of the data
	// nodes' snapshots, by the coordinator's clock.
	Window Window `json:"window"`
	// Watermark, per catalog: every row the cluster acknowledged before it
	// is in a member backup (docs/cluster.md, "The watermark").
	Watermark map[string]time.Time `json:"watermark,omitempty"`
	// Drain is how the coordinator waited for the liaisons' queues.
	Drain *Drain `json:"drain,omitempty"`
}

// SetNode is one node of a set.
type SetNode struct {
	// Name is the node's name as BanyanDB gives it, <host>:<gRPC port>.
	Name string `json:"name"`
	Role string `json:"role"`
	// Backup is the node's backup; every data node has one, a liaison
	// only when its data was backed up.
	Backup *ID `json:"backup,omitempty"`
	// Snapshot is when the node's snapshot was taken, by the
	// coordinator's clock (request sent, answer received) and by the
	// agent's; nil for a liaison.
	Snapshot *SnapshotWindow `json:"snapshot,omitempty"`
	// LackingParts counts the parts the snapshot listed but lacked (the
	// member manifest names them).
	LackingParts int `json:"lacking_parts,omitempty"`
	// SchemaTree is the tree id of the node's schema-property data: equal
	// on every data node unless the schema changed during the window.
	SchemaTree *ID `json:"schema_tree,omitempty"`
	// Queue is a liaison's write queue when it was checked.
	Queue *LiaisonQueue `json:"queue,omitempty"`
}

// Window is a span of time.
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Width is End minus Start.
func (w Window) Width() time.Duration { return w.End.Sub(w.Start) }

// SnapshotWindow is one node's snapshot call, by two clocks.
type SnapshotWindow struct {
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	AgentStart time.Time `json:"agent_start,omitzero"`
	AgentEnd   time.Time `json:"agent_end,omitzero"`
}

// LiaisonQueue is what a liaison held on disk and had not delivered.
type LiaisonQueue struct {
	Checked time.Time `json:"checked"`
	Parts   int       `json:"parts"`
	Bytes   int64     `json:"bytes"`
	// OldestFlush is when the oldest queued part was flushed.
	OldestFlush *time.Time `json:"oldest_flush,omitempty"`
	FailedParts int        `json:"failed_parts"`
	FailedBytes int64      `json:"failed_bytes"`
	Drained     bool       `json:"drained"`
}

// Drain records the coordinator's wait for the liaisons.
type Drain struct {
	Target        time.Time `json:"target"`
	WaitedSeconds float64   `json:"waited_seconds"`
	TimedOut      bool      `json:"timed_out"`
}

// Members returns the ids of the set's node backups, in node order.
func (s *Set) Members() []ID {
	var out []ID
	for _, n := range s.Nodes {
		if n.Backup != nil {
			out = append(out, *n.Backup)
		}
	}
	return out
}

// Node returns the node of the given name.
func (s *Set) Node(name string) (SetNode, bool) {
	for _, n := range s.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return SetNode{}, false
}

// DataNodes counts the set's data nodes.
func (s *Set) DataNodes() int {
	n := 0
	for _, node := range s.Nodes {
		if node.Role == RoleData {
			n++
		}
	}
	return n
}

// check refuses a set that breaks the rules of the format: an operation
// id of 32 hex digits, at least one data node, nodes sorted by unique
// name, known roles, a backup for every data node.
func (s *Set) check() error {
	if s.Format < 1 {
		return fmt.Errorf("set format %d is not valid", s.Format)
	}
	if b, err := hex.DecodeString(s.Operation); err != nil || len(b) != 16 || strings.ToLower(s.Operation) != s.Operation {
		return fmt.Errorf("operation %q is not 32 lowercase hex digits", s.Operation)
	}
	if s.DataNodes() == 0 {
		return errors.New("it has no data node")
	}
	members := map[ID]string{}
	for i, n := range s.Nodes {
		switch {
		case n.Name == "":
			return fmt.Errorf("node %d has no name", i)
		case i > 0 && s.Nodes[i-1].Name >= n.Name:
			return fmt.Errorf("nodes are not sorted by unique name at %q", n.Name)
		case n.Role != RoleData && n.Role != RoleLiaison:
			return fmt.Errorf("node %s has role %q, not data or liaison", n.Name, n.Role)
		case n.Role == RoleData && n.Backup == nil:
			return fmt.Errorf("data node %s has no backup", n.Name)
		}
		if n.Backup != nil {
			if other, ok := members[*n.Backup]; ok {
				return fmt.Errorf("nodes %s and %s name the same backup %s", other, n.Name, n.Backup.Short())
			}
			members[*n.Backup] = n.Name
		}
	}
	return nil
}

// BackupSet is a set with its id.
type BackupSet struct {
	ID ID
	*Set
	// Size is the set object's stored size.
	Size int64
}

// SaveSet stores s with create-if-absent and returns its id and the bytes
// written: the cluster backup now exists. The repository must have the
// sets feature (EnableFeature), so that no release that does not know
// sets can misread it. s must be valid, and every member backup must exist
// and record s.Operation; lock is the caller's lock, which must still
// stand (it held back prune since the members' uploads).
func (r *Repository) SaveSet(ctx context.Context, lock *Lock, s *Set) (ID, int64, error) {
	if err := r.requireFeature(FeatureSets, "save backup set"); err != nil {
		return ID{}, 0, err
	}
	if s.Format == 0 {
		s.Format = SetFormat
	}
	if err := s.check(); err != nil {
		return ID{}, 0, fmt.Errorf("cannot save backup set: %w", err)
	}
	for _, n := range s.Nodes {
		if n.Backup == nil {
			continue
		}
		m, err := r.LoadManifest(ctx, *n.Backup)
		if err != nil {
			return ID{}, 0, fmt.Errorf("cannot save backup set: node %s: %w", n.Name, err)
		}
		if m.ClusterOperation != s.Operation {
			return ID{}, 0, fmt.Errorf("cannot save backup set: node %s's backup %s was committed for operation %q, not %q",
				n.Name, n.Backup.Short(), m.ClusterOperation, s.Operation)
		}
	}
	if err := lock.Check(ctx); err != nil {
		return ID{}, 0, err
	}
	data, err := r.codec.sealJSON(kindSet, s)
	if err != nil {
		return ID{}, 0, err
	}
	id := Hash(data)
	if err := r.be.Create(ctx, "sets/"+id.String(), int64(len(data)), bytes.NewReader(data)); err != nil && !errors.Is(err, storage.ErrExists) {
		return ID{}, 0, fmt.Errorf("cannot write backup set to %s: %w", r.be.Location(), err)
	}
	return id, int64(len(data)), nil
}

// LoadSet reads and checks one set.
func (r *Repository) LoadSet(ctx context.Context, id ID) (BackupSet, error) {
	data, err := r.readObject(ctx, "sets", id)
	if err != nil {
		if isNotFound(err) {
			return BackupSet{}, fmt.Errorf("%w: %s", ErrSetNotFound, id.Short())
		}
		if errors.Is(err, ErrIntegrity) {
			return BackupSet{}, err
		}
		return BackupSet{}, fmt.Errorf("cannot read backup set %s: %w", id.Short(), err)
	}
	var s Set
	if err := r.codec.openJSON(kindSet, data, &s); err != nil {
		return BackupSet{}, fmt.Errorf("cannot read backup set %s: %w", id.Short(), err)
	}
	if s.Format > SetFormat {
		return BackupSet{}, fmt.Errorf("%w: backup set %s has format %d; upgrade banyan-backup", ErrUnsupportedFormat, id.Short(), s.Format)
	}
	if err := s.check(); err != nil {
		return BackupSet{}, fmt.Errorf("%w: backup set %s: %v", ErrIntegrity, id.Short(), err)
	}
	return BackupSet{ID: id, Set: &s, Size: int64(len(data))}, nil
}

// setIDs lists the ids of all sets.
func (r *Repository) setIDs(ctx context.Context) ([]ID, error) {
	var ids []ID
	err := r.be.List(ctx, "sets/", func(o storage.ObjectInfo) error {
		if id, err := ParseID(strings.TrimPrefix(o.Name, "sets/")); err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list backup sets in %s: %w", r.be.Location(), err)
	}
	r.dropStale("sets", ids)
	return ids, nil
}

// Sets loads every set, oldest first. A repository without the sets
// feature has none, and is not listed.
func (r *Repository) Sets(ctx context.Context) ([]BackupSet, error) {
	if !r.cfg.HasFeature(FeatureSets) {
		return nil, nil
	}
	ids, err := r.setIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]BackupSet, 0, len(ids))
	for _, id := range ids {
		s, err := r.LoadSet(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out, nil
}

// FindSet resolves "latest" or a unique id prefix to a set.
func (r *Repository) FindSet(ctx context.Context, ref string) (BackupSet, error) {
	sets, err := r.Sets(ctx)
	if err != nil {
		return BackupSet{}, err
	}
	if ref == "latest" {
		if len(sets) == 0 {
			return BackupSet{}, fmt.Errorf("%w: the repository has no backup sets", ErrSetNotFound)
		}
		return sets[len(sets)-1], nil
	}
	ref = strings.ToLower(ref)
	var found []BackupSet
	for _, s := range sets {
		if ref != "" && strings.HasPrefix(s.ID.String(), ref) {
			found = append(found, s)
		}
	}
	switch {
	case len(found) == 0:
		return BackupSet{}, fmt.Errorf("%w: no backup set id starts with %q: see `banyan-backup list`", ErrSetNotFound, ref)
	case len(found) > 1:
		return BackupSet{}, fmt.Errorf("%w: %q matches %d backup sets: give more digits", ErrSetNotFound, ref, len(found))
	}
	return found[0], nil
}

// Membership maps each member backup of sets to its set.
func Membership(sets []BackupSet) map[ID]ID {
	out := map[ID]ID{}
	for _, s := range sets {
		for _, m := range s.Members() {
			out[m] = s.ID
		}
	}
	return out
}

// Orphans returns the backups committed for a cluster operation that no
// set records: the members of a cluster backup that failed between its
// first commit and its set. Prune deletes them.
func Orphans(backups []Backup, sets []BackupSet) []Backup {
	ops := map[string]bool{}
	for _, s := range sets {
		ops[s.Operation] = true
	}
	var out []Backup
	for _, b := range backups {
		if b.ClusterOperation != "" && !ops[b.ClusterOperation] {
			out = append(out, b)
		}
	}
	return out
}

// RemoveSets deletes sets whole ("forget"): each set's object first, then
// its members' manifests, so that a crash between leaves orphans (which
// prune deletes), never a set naming a missing backup. lock must be an
// exclusive lock of r. A set already gone is not an error. It stops, with
// ErrLockLost, once the lock is lost.
func (r *Repository) RemoveSets(ctx context.Context, lock *Lock, ids []ID) error {
	if err := r.checkExclusive(lock, "forget backup sets"); err != nil {
		return err
	}
	if err := lock.Check(ctx); err != nil {
		return err
	}
	for _, id := range ids {
		s, err := r.LoadSet(ctx, id)
		if errors.Is(err, ErrSetNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := lock.held(); err != nil {
			return err
		}
		if err := r.be.Delete(ctx, "sets/"+id.String()); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("cannot remove backup set %s: %w", id.Short(), err)
		}
		if err := r.RemoveBackups(ctx, lock, s.Members()); err != nil {
			return fmt.Errorf("backup set %s removed, but not all its members (prune removes the rest): %w", id.Short(), err)
		}
	}
	return nil
}

// MemberNames returns the names of the nodes of s that have a backup.
func (s *Set) MemberNames() []string {
	var out []string
	for _, n := range s.Nodes {
		if n.Backup != nil {
			out = append(out, n.Name)
		}
	}
	return slices.Clip(out)
}

// removeOrphans deletes the manifests Orphans finds (none in a repository
// without sets) and returns their ids; with dryRun it only finds them.
// Under the caller's exclusive lock no cluster backup is between its
// first commit and its set: a coordinator holds a shared lock throughout,
// and one whose lock was removed writes no set.
func (r *Repository) removeOrphans(ctx context.Context, lock *Lock, dryRun bool) ([]ID, error) {
	if !r.cfg.HasFeature(FeatureSets) {
		return nil, nil
	}
	backups, err := r.Backups(ctx)
	if err != nil {
		return nil, err
	}
	sets, err := r.Sets(ctx)
	if err != nil {
		return nil, err
	}
	var ids []ID
	for _, b := range Orphans(backups, sets) {
		ids = append(ids, b.ID)
	}
	if dryRun || len(ids) == 0 {
		return ids, nil
	}
	if err := r.RemoveBackups(ctx, lock, ids); err != nil {
		return nil, fmt.Errorf("cannot remove the orphans of failed cluster backups: %w", err)
	}
	return ids, nil
}

// verifySets checks that every member of every set is among backups
// (LoadSet has checked each set's own rules), and counts the sets.
func (r *Repository) verifySets(ctx context.Context, backups []Backup, res *VerifyResult) error {
	sets, err := r.Sets(ctx)
	if err != nil {
		return err
	}
	res.Sets = len(sets)
	have := map[ID]bool{}
	for _, b := range backups {
		have[b.ID] = true
	}
	for _, s := range sets {
		for _, n := range s.Nodes {
			if n.Backup != nil && !have[*n.Backup] {
				res.Problems = append(res.Problems, Problem{Backup: n.Backup.String(),
					Error: fmt.Sprintf("backup set %s: the backup of node %s is missing", s.ID.Short(), n.Name)})
			}
		}
	}
	return nil
}
