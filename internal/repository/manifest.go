package repository

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/parallel"
	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// ManifestFormat is the manifest layout version this release writes.
const ManifestFormat = 1

// Source says what a backup was taken of.
type Source struct {
	Type       string            `json:"type"` // "root" (offline data root) or "node"
	Roots      map[string]string `json:"roots"`
	Node       string            `json:"node,omitempty"`
	APIVersion string            `json:"api_version,omitempty"`
}

// SegmentRecord lists one backed-up segment, for list/show and planning.
type SegmentRecord struct {
	Catalog string `json:"catalog"`
	Group   string `json:"group"`
	Name    string `json:"name"`
	SegmentInfo
}

// LackingParts lists the parts that one shard's newest .snp in a live
// backup's snapshot names but that the snapshot did not hold: the node had
// them in memory, not yet flushed, and a snapshot lists such parts without
// linking them (docs/banyandb.md, Snapshots). Their rows are in no backup.
type LackingParts struct {
	Catalog string `json:"catalog"`
	Group   string `json:"group"`
	Segment string `json:"segment"`
	// Shard is N of the shard directory shard-N.
	Shard int `json:"shard"`
	// Parts are the part names (16 hex digits), sorted.
	Parts []string `json:"parts"`
}

// ShardPath is the shard directory relative to the catalog's data
// directory, slash-separated: <group>/<segment>/shard-<N>.
func (l LackingParts) ShardPath() string {
	return l.Group + "/" + l.Segment + "/shard-" + strconv.Itoa(l.Shard)
}

// Summary counts a backup's work.
type Summary struct {
	Files           int64   `json:"files"`
	Dirs            int64   `json:"dirs"`
	Bytes           int64   `json:"bytes"`
	FilesRead       int64   `json:"files_read"`
	FilesUnchanged  int64   `json:"files_unchanged"`
	BytesRead       int64   `json:"bytes_read"`
	BlobsAdded      int64   `json:"blobs_added"`
	PacksAdded      int64   `json:"packs_added"`
	BytesAdded      int64   `json:"bytes_added"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// Manifest describes one backup. It is written last: a backup exists only
// once its manifest does.
type Manifest struct {
	Format int `json:"format"`
	// RepositoryFormat is the repository format (Config.Version) the
	// backup was written in; SaveManifest fills it in. 0 in manifests
	// written before it was recorded, all of them format 1.
	RepositoryFormat int       `json:"repository_format,omitempty"`
	Time             time.Time `json:"time"`
	// Hostname is the node the backup is of: `--host`, or for a live
	// backup NodeHost, or the runner's hostname. Before Runner was
	// recorded it was always the runner's (see Host).
	Hostname string `json:"hostname"`
	// Runner is the hostname of the machine that ran the backup.
	Runner      string          `json:"runner,omitempty"`
	ToolVersion string          `json:"tool_version"`
	Tags        []string        `json:"tags,omitempty"`
	Source      Source          `json:"source"`
	Parent      *ID             `json:"parent,omitempty"`
	Catalogs    []string        `json:"catalogs"`
	Tree        ID              `json:"tree"`
	Segments    []SegmentRecord `json:"segments,omitempty"`
	// LackingParts lists, for live backups, the parts the snapshot's .snp
	// files named but the snapshot lacked (held in the node's memory);
	// absent when there were none, and in manifests written before it was
	// recorded.
	LackingParts []LackingParts `json:"lacking_parts,omitempty"`
	// ClusterOperation is the id of the cluster backup this backup was
	// committed for, the Operation of its set (set.go); "" for a backup
	// of one node on its own. A backup naming an operation that no set
	// records is an orphan of a cluster backup that failed.
	ClusterOperation string `json:"cluster_operation,omitempty"`
	// ServerZone is the time zone the backup read segment names in, which
	// its segments' start times follow; absent in manifests written before
	// it was recorded.
	ServerZone *ZoneRecord `json:"server_zone,omitempty"`
	// CopiedFrom is set on a backup that `copy` (or a serve job with
	// several repositories) copied from another repository.
	CopiedFrom *CopiedFrom `json:"copied_from,omitempty"`
	Summary    Summary     `json:"summary"`
}

// ZoneRecord names a time zone and how it was chosen.
type ZoneRecord struct {
	// Name is an IANA name (Asia/Shanghai), UTC, or a fixed offset from
	// UTC (UTC+08:00).
	Name string `json:"name"`
	// Source is "given" (by the user, and no segment's metadata
	// contradicted it), "learned" (from the ends segments' metadata
	// record) or "local" (the zone of the machine that ran the backup).
	Source string `json:"source"`
}

// CopiedFrom names the backup a copy was made from.
type CopiedFrom struct {
	// Repository is the source repository's id (its config's).
	Repository string `json:"repository"`
	// Backup is the backup's id there.
	Backup ID `json:"backup"`
	// Time is when the copy was made.
	Time time.Time `json:"time"`
}

// Backup is a manifest with its id.
type Backup struct {
	ID ID
	*Manifest
	// Size is the manifest object's stored size: Summary.BytesAdded
	// counts what the backup stored before it, so the repository grew by
	// both.
	Size int64
}

// SaveManifest stores m with create-if-absent and returns the backup's id
// and the number of bytes written. It records the repository's format in
// m.RepositoryFormat when unset.
func (r *Repository) SaveManifest(ctx context.Context, m *Manifest) (ID, int64, error) {
	if m.RepositoryFormat == 0 {
		m.RepositoryFormat = r.cfg.Version
	}
	data, err := r.codec.sealJSON(kindManifest, m)
	if err != nil {
		return ID{}, 0, err
	}
	id := Hash(data)
	if err := r.be.Create(ctx, "manifests/"+id.String(), int64(len(data)), bytes.NewReader(data)); err != nil && !errors.Is(err, storage.ErrExists) {
		return ID{}, 0, fmt.Errorf("cannot write manifest to %s: %w", r.be.Location(), err)
	}
	return id, int64(len(data)), nil
}

// LoadManifest reads and checks one manifest.
func (r *Repository) LoadManifest(ctx context.Context, id ID) (*Manifest, error) {
	b, err := r.loadBackup(ctx, id)
	return b.Manifest, err
}

// loadBackup reads and checks one manifest.
func (r *Repository) loadBackup(ctx context.Context, id ID) (Backup, error) {
	data, err := r.readObject(ctx, "manifests", id)
	if err != nil {
		if isNotFound(err) {
			return Backup{}, fmt.Errorf("%w: %s", ErrBackupNotFound, id.Short())
		}
		if errors.Is(err, ErrIntegrity) {
			return Backup{}, err
		}
		return Backup{}, fmt.Errorf("cannot read manifest %s: %w", id.Short(), err)
	}
	var m Manifest
	if err := r.codec.openJSON(kindManifest, data, &m); err != nil {
		return Backup{}, fmt.Errorf("cannot read manifest %s: %w", id.Short(), err)
	}
	if m.Format > ManifestFormat {
		return Backup{}, fmt.Errorf("%w: manifest %s has format %d; upgrade banyan-backup", ErrUnsupportedFormat, id.Short(), m.Format)
	}
	return Backup{ID: id, Manifest: &m, Size: int64(len(data))}, nil
}

// manifestReaders is how many manifests Backups reads at once.
const manifestReaders = 16

// manifestIDs lists the ids of all manifests.
func (r *Repository) manifestIDs(ctx context.Context) ([]ID, error) {
	var ids []ID
	err := r.be.List(ctx, "manifests/", func(o storage.ObjectInfo) error {
		if id, err := ParseID(strings.TrimPrefix(o.Name, "manifests/")); err == nil {
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list manifests in %s: %w", r.be.Location(), err)
	}
	r.dropStale("manifests", ids)
	return ids, nil
}

// Backups loads every manifest, oldest first.
func (r *Repository) Backups(ctx context.Context) ([]Backup, error) {
	ids, err := r.manifestIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Backup, len(ids))
	errs := make([]error, len(ids))
	// Several at once: each read waits on the disk or the network.
	err = parallel.ForEach(ctx, manifestReaders, parallel.Positions(len(ids)), func() func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			out[i], errs[i] = r.loadBackup(ctx, ids[i])
			return nil
		}
	})
	if err != nil {
		return nil, err
	}
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out, nil
}

// FindBackup resolves "latest" or a unique id prefix to a backup.
func (r *Repository) FindBackup(ctx context.Context, ref string) (Backup, error) {
	backups, err := r.Backups(ctx)
	if err != nil {
		return Backup{}, err
	}
	if ref == "latest" {
		if len(backups) == 0 {
			return Backup{}, fmt.Errorf("%w: the repository has no backups yet", ErrBackupNotFound)
		}
		return backups[len(backups)-1], nil
	}
	ref = strings.ToLower(ref)
	var found []Backup
	for _, b := range backups {
		if strings.HasPrefix(b.ID.String(), ref) {
			found = append(found, b)
		}
	}
	switch {
	case ref == "" || len(found) == 0:
		return Backup{}, fmt.Errorf("%w: no backup id starts with %q: see `banyan-backup list`", ErrBackupNotFound, ref)
	case len(found) > 1:
		return Backup{}, fmt.Errorf("%w: %q matches %d backups: give more digits", ErrBackupNotFound, ref, len(found))
	}
	return found[0], nil
}
