package engine

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/compat"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Backup is one backup as every command and the serve API show it: the
// one JSON shape of `backup --json`, `list --json`, `show --json` and
// GET /api/v1/jobs/{job}/backups.
type Backup struct {
	ID      string    `json:"id"`
	ShortID string    `json:"short_id"`
	Time    time.Time `json:"time"`
	// Hostname is the node the backup is of (repository.Manifest.Host),
	// Runner the machine that ran it ("" before it was recorded).
	Hostname string            `json:"hostname"`
	Runner   string            `json:"runner,omitempty"`
	Tags     []string          `json:"tags"`
	Source   repository.Source `json:"source"`
	Parent   string            `json:"parent,omitempty"`
	Catalogs []string          `json:"catalogs"`
	Tree     string            `json:"tree"`

	Files          int64 `json:"files"`
	Dirs           int64 `json:"dirs"`
	FilesRead      int64 `json:"files_read"`
	FilesUnchanged int64 `json:"files_unchanged"`
	BytesTotal     int64 `json:"bytes_total"`
	BytesRead      int64 `json:"bytes_read"`
	// BytesAdded is what the backup added to the repository: packs,
	// index files and its manifest.
	BytesAdded      int64   `json:"bytes_added"`
	BlobsAdded      int64   `json:"blobs_added"`
	PacksAdded      int64   `json:"packs_added"`
	DurationSeconds float64 `json:"duration_seconds"`

	Versions Versions                   `json:"versions"`
	Segments []repository.SegmentRecord `json:"segments"`
	// LackingParts lists, per shard, the parts a live backup's snapshot
	// listed but did not hold: the node had them in memory, not flushed
	// (docs/banyandb.md, Snapshots), so their rows are not in the backup.
	// Empty for offline backups and for backups written before it was
	// recorded.
	LackingParts []repository.LackingParts `json:"lacking_parts"`
	// ClusterOperation is the cluster backup the backup was committed
	// for, Set the set that records it (MarkSets; "" for an orphan).
	ClusterOperation string `json:"cluster_operation,omitempty"`
	Set              string `json:"set,omitempty"`
	// ServerZone is the zone the backup read segment names in; absent for
	// backups written before it was recorded.
	ServerZone *repository.ZoneRecord `json:"server_zone,omitempty"`
	// CopiedFrom names the repository and backup a copy was made from
	// (`copy`); absent for a backup taken here.
	CopiedFrom *repository.CopiedFrom `json:"copied_from,omitempty"`
}

// MarkSets fills in the set of each backup of bs that is a set's member.
func MarkSets(bs []Backup, sets []repository.BackupSet) {
	members := map[string]string{}
	for _, s := range sets {
		for _, m := range s.Members() {
			members[m.String()] = s.ID.String()
		}
	}
	for i := range bs {
		bs[i].Set = members[bs[i].ID]
	}
}

// LackingCount is the number of parts a backup lacks (LackingParts).
func (b Backup) LackingCount() int {
	n := 0
	for _, l := range b.LackingParts {
		n += len(l.Parts)
	}
	return n
}

// LackingByGroup counts lacking parts per catalog/group, in their order:
// "measure/bk_measure 2, stream/bk_stream 1"; "" when there are none.
func LackingByGroup(ls []repository.LackingParts) string {
	var keys []string
	counts := map[string]int{}
	for _, l := range ls {
		k := l.Catalog + "/" + l.Group
		if _, ok := counts[k]; !ok {
			keys = append(keys, k)
		}
		counts[k] += len(l.Parts)
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+" "+strconv.Itoa(counts[k]))
	}
	return strings.Join(out, ", ")
}

// Versions are the versions a backup records, for restore compatibility.
type Versions struct {
	Tool string `json:"tool"`
	// RepositoryFormat is 0 for backups written before it was recorded
	// (all of format 1).
	RepositoryFormat int    `json:"repository_format,omitempty"`
	ManifestFormat   int    `json:"manifest_format"`
	APIVersion       string `json:"api_version,omitempty"`
	// Segments lists the segment formats per catalog.
	Segments map[string][]string `json:"segments,omitempty"`
}

// Summarize describes a backup.
func Summarize(bk repository.Backup) Backup {
	id, m, s := bk.ID, bk.Manifest, bk.Summary
	b := Backup{
		ID: id.String(), ShortID: id.Short(), Time: m.Time, Hostname: m.Host(), Runner: m.Runner, Tags: m.Tags, Source: m.Source,
		Catalogs: m.Catalogs, Tree: m.Tree.String(),
		Files: s.Files, Dirs: s.Dirs, FilesRead: s.FilesRead, FilesUnchanged: s.FilesUnchanged, BytesTotal: s.Bytes,
		BytesRead: s.BytesRead, BytesAdded: s.BytesAdded + bk.Size, BlobsAdded: s.BlobsAdded, PacksAdded: s.PacksAdded,
		DurationSeconds: s.DurationSeconds,
		Versions: Versions{Tool: m.ToolVersion, RepositoryFormat: m.RepositoryFormat, ManifestFormat: m.Format,
			APIVersion: m.Source.APIVersion, Segments: compat.SegmentVersions(m.Segments)},
		Segments: m.Segments, LackingParts: m.LackingParts, ClusterOperation: m.ClusterOperation, ServerZone: m.ServerZone,
		CopiedFrom: m.CopiedFrom,
	}
	if b.Tags == nil {
		b.Tags = []string{}
	}
	if b.Catalogs == nil {
		b.Catalogs = []string{}
	}
	if b.Segments == nil {
		b.Segments = []repository.SegmentRecord{}
	}
	if b.LackingParts == nil {
		b.LackingParts = []repository.LackingParts{}
	}
	if m.Parent != nil {
		b.Parent = m.Parent.String()
	}
	return b
}

// SummarizeAll describes backups in their order.
func SummarizeAll(backups []repository.Backup) []Backup {
	out := make([]Backup, 0, len(backups))
	for _, b := range backups {
		out = append(out, Summarize(b))
	}
	return out
}

// Short is the one-column form of the versions: "tool 0.1.0, repo 1,
// api 0.10, seg 1.4.0" (segment formats of every catalog together).
func (v Versions) Short() string {
	parts := []string{"tool " + v.Tool}
	if v.RepositoryFormat > 0 {
		parts = append(parts, "repo "+strconv.Itoa(v.RepositoryFormat))
	}
	if v.APIVersion != "" {
		parts = append(parts, "api "+v.APIVersion)
	}
	var segs []string
	for _, vs := range v.Segments {
		for _, s := range vs {
			if !slices.Contains(segs, s) {
				segs = append(segs, s)
			}
		}
	}
	sort.Strings(segs)
	if len(segs) > 0 {
		parts = append(parts, "seg "+strings.Join(segs, "+"))
	}
	return strings.Join(parts, ", ")
}

// BackupRun is a backup just taken: the backup, and what the run did
// that the backup does not record.
type BackupRun struct {
	Backup
	// Live backups only: the node's snapshot call and the deletion of the
	// snapshot, outside duration_seconds.
	SnapshotSeconds       float64 `json:"snapshot_seconds,omitempty"`
	SnapshotRemoveSeconds float64 `json:"snapshot_remove_seconds,omitempty"`
	// Live backups only: live part files read while the node took its
	// snapshot, and how many of them the snapshot held (the others a
	// merge replaced meanwhile: read for nothing). The used ones count in
	// files_read and bytes_read.
	PrereadFiles     int64 `json:"preread_files,omitempty"`
	PrereadBytes     int64 `json:"preread_bytes,omitempty"`
	PrereadFilesUsed int64 `json:"preread_files_used,omitempty"`
	PrereadBytesUsed int64 `json:"preread_bytes_used,omitempty"`
	// Packs a killed backup stored without indexing them, adopted instead
	// of uploaded again.
	PacksRecovered int   `json:"packs_recovered,omitempty"`
	BytesRecovered int64 `json:"bytes_recovered,omitempty"`
	// Live backups only: snapshot directories of killed backups removed
	// before this one took its snapshot, and why some could not be.
	AbandonedSnapshotsRemoved []string `json:"abandoned_snapshots_removed,omitempty"`
	AbandonedSnapshotsError   string   `json:"abandoned_snapshots_error,omitempty"`
}

// SummarizeRun describes a finished backup run.
func SummarizeRun(res *backup.Result) BackupRun {
	pre := res.Preread
	return BackupRun{
		Backup:          Summarize(res.Backup),
		SnapshotSeconds: res.SnapshotSeconds, SnapshotRemoveSeconds: res.SnapshotRemoveSeconds,
		PrereadFiles: pre.Files, PrereadBytes: pre.Bytes, PrereadFilesUsed: pre.FilesUsed, PrereadBytesUsed: pre.BytesUsed,
		PacksRecovered: res.Recovered.Packs, BytesRecovered: res.Recovered.Bytes,
		AbandonedSnapshotsRemoved: res.AbandonedSnapshots, AbandonedSnapshotsError: res.AbandonedSnapshotsError,
	}
}
