package backup

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// CopyOptions say which backups Copy copies and how.
type CopyOptions struct {
	// Backups are the source's backups to copy: ids, unique id prefixes
	// or "latest"; none means all.
	Backups []string
	// DryRun plans the copy and writes nothing.
	DryRun bool
	// Workers reading the source's packs at once; 0 means 2.
	Workers  int
	Progress progress.Reporter
}

// CopyStatus says what Copy did with one backup.
type CopyStatus string

// What Copy did with a backup.
const (
	// Copied: the destination holds a new backup, the copy.
	Copied CopyStatus = "copied"
	// Present: the destination held the backup already (the same root
	// tree, time and host); nothing was copied.
	Present CopyStatus = "present"
	// Planned: a dry run would copy it.
	Planned CopyStatus = "planned"
)

// CopiedBackup is one backup of a copy.
type CopiedBackup struct {
	Source repository.Backup
	Status CopyStatus
	// Backup is the backup in the destination: the copy made, or the one
	// it held already; zero in a dry run.
	Backup repository.Backup
	// Counts are the blobs the destination lacked, which the copy stored
	// (or would store).
	Counts repository.CopyCounts
	// TreesRead counts the source's trees the plan read: those that
	// differ from the parent's, when dst holds the parent.
	TreesRead int64
	// Result is the committed copy, for Copied.
	Result *Result
}

// CopyResult lists the backups of a copy, oldest first.
type CopyResult struct {
	Backups []CopiedBackup
}

// Copy copies backups of src into dst: for each backup dst does not hold
// (the same root tree, time and host: sameBackup), it stores every tree
// and data blob dst lacks, as they are stored in src, then the index, and
// writes the manifest last, as a backup does (Upload, then Commit), so a
// copy that fails or is killed leaves no backup listed and its rerun
// adopts the packs it stored. The copy's manifest is the source's, with
// the root tree, time, host, tags, source and segments unchanged; see
// copier.manifest. Backups are copied oldest first, each committed before
// the next starts; the first failure stops the copy and is returned with
// the backups done so far.
//
// Both repositories must share their hash and chunking (checkCopyable).
// src is held under a shared lock throughout, so that no prune deletes
// what is being read; dst under a shared lock per backup, as a backup.
func Copy(ctx context.Context, src, dst *repository.Repository, opts CopyOptions) (*CopyResult, error) {
	if err := checkCopyable(src, dst); err != nil {
		return nil, err
	}
	lock, err := src.Lock(ctx, "copy", false)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock(context.WithoutCancel(ctx))
	ctx, cancel := lock.Context(ctx) // a copy stops once src's lock is lost
	defer cancel()
	res, err := copyLocked(ctx, src, dst, opts)
	if lost := lock.Err(); lost != nil {
		return res, lost
	}
	return res, err
}

// copyLocked is Copy once src is locked.
func copyLocked(ctx context.Context, src, dst *repository.Repository, opts CopyOptions) (*CopyResult, error) {
	all, err := src.Backups(ctx)
	if err != nil {
		return nil, err
	}
	todo, err := selectBackups(ctx, src, all, opts.Backups)
	if err != nil {
		return nil, err
	}
	held, err := dst.Backups(ctx)
	if err != nil {
		return nil, err
	}
	c := &copier{src: src, dst: dst, opts: opts, from: src.NewCopySource(), held: held, srcByID: map[repository.ID]repository.Backup{}}
	for _, b := range all {
		c.srcByID[b.ID] = b
	}
	res := &CopyResult{}
	for _, b := range todo {
		cb, err := c.one(ctx, b)
		if err != nil {
			return res, fmt.Errorf("cannot copy backup %s: %w", b.ID.Short(), err)
		}
		res.Backups = append(res.Backups, cb)
	}
	return res, nil
}

// checkCopyable refuses a copy between repositories whose blobs differ
// for the same file: another hash or chunking. Chunk sizes that differ
// are refused rather than the files cut again: the copied blobs would be
// valid but would not deduplicate with the destination's own backups, and
// a resumed restore from it checks files chunk by chunk of its size. Pack
// sizes, formats and encryption may differ: blob ids are the hashes of
// the plain bytes in every format, and the destination's config decides
// whether the copy is sealed.
func checkCopyable(src, dst *repository.Repository) error {
	s, d := src.Config(), dst.Config()
	switch {
	case s.ID == d.ID:
		return fmt.Errorf("cannot copy from %s to %s: they are the same repository (id %s)", src.Location(), dst.Location(), s.ID)
	case s.Hash != d.Hash || s.Chunker != d.Chunker || s.ChunkSize != d.ChunkSize:
		return fmt.Errorf("cannot copy from %s to %s: they cut files differently (%s, %s chunks of %d bytes; %s, %s chunks of %d bytes), "+
			"so the destination could not deduplicate the copied blobs: copy into a repository with the source's chunking",
			src.Location(), dst.Location(), s.Hash, s.Chunker, s.ChunkSize, d.Hash, d.Chunker, d.ChunkSize)
	}
	return nil
}

// selectBackups resolves refs (none: every backup) to backups of src,
// once each, oldest first.
func selectBackups(ctx context.Context, src *repository.Repository, all []repository.Backup, refs []string) ([]repository.Backup, error) {
	if len(refs) == 0 {
		return all, nil
	}
	var out []repository.Backup
	for _, ref := range refs {
		b, err := src.FindBackup(ctx, ref)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(o repository.Backup) bool { return o.ID == b.ID }) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b repository.Backup) int {
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return strings.Compare(a.ID.String(), b.ID.String())
	})
	return out, nil
}

// sameBackup reports whether two manifests describe the same backup: a
// copy keeps the root tree, the time and the host.
func sameBackup(a, b *repository.Manifest) bool {
	return a.Tree == b.Tree && a.Time.Equal(b.Time) && a.Host() == b.Host()
}

// copier is one Copy's state.
type copier struct {
	src, dst *repository.Repository
	opts     CopyOptions
	from     *repository.CopySource
	srcByID  map[repository.ID]repository.Backup
	held     []repository.Backup // dst's backups, and the copies made
}

// heldCopy returns dst's backup that is the same as b.
func (c *copier) heldCopy(b *repository.Manifest) (repository.Backup, bool) {
	for _, h := range c.held {
		if sameBackup(h.Manifest, b) {
			return h, true
		}
	}
	return repository.Backup{}, false
}

// one copies backup b unless dst holds it.
func (c *copier) one(ctx context.Context, b repository.Backup) (CopiedBackup, error) {
	if h, ok := c.heldCopy(b.Manifest); ok {
		return CopiedBackup{Source: b, Status: Present, Backup: h}, nil
	}
	if c.opts.DryRun {
		plan, err := c.from.Plan(ctx, b.Tree, repository.CopyDest{Has: c.dst.Index().Has, Base: c.base(b)})
		if err != nil {
			return CopiedBackup{}, err
		}
		return CopiedBackup{Source: b, Status: Planned, Counts: plan.CopyCounts, TreesRead: plan.TreesRead}, nil
	}
	up, plan, err := c.upload(ctx, b)
	if err != nil {
		return CopiedBackup{}, err
	}
	res, err := up.Commit(ctx)
	if err != nil {
		return CopiedBackup{}, err
	}
	c.held = append(c.held, res.Backup)
	return CopiedBackup{Source: b, Status: Copied, Backup: res.Backup, Counts: plan.CopyCounts, TreesRead: plan.TreesRead, Result: res}, nil
}

// upload stores b's blobs that dst lacks under a session of dst, as a
// backup's upload does, and returns the upload holding the manifest.
func (c *copier) upload(ctx context.Context, b repository.Backup) (*Uploaded, *repository.CopyPlan, error) {
	start := time.Now()
	s, ctx, err := beginOp(ctx, c.dst, "copy")
	if err != nil {
		return nil, nil, err
	}
	saver := s.newSaver(ctx)
	plan, err := c.from.Plan(ctx, b.Tree, repository.CopyDest{Has: saver.Has, Base: c.base(b)})
	if err == nil {
		err = c.from.Copy(ctx, plan, saver, repository.CopyOptions{Workers: c.opts.Workers, Progress: c.opts.Progress})
	}
	var stats repository.SaveStats
	if err == nil {
		s.flushed = true
		stats, err = saver.Flush(ctx)
	}
	if err != nil {
		s.end(ctx)
		return nil, nil, s.failed(err)
	}
	m := c.manifest(b, stats, time.Since(start))
	return &Uploaded{s: s, manifest: m, result: Result{Recovered: s.recovered}}, plan, nil
}

// parentCopy returns dst's copy of b's parent.
func (c *copier) parentCopy(b repository.Backup) (repository.Backup, bool) {
	if b.Parent == nil {
		return repository.Backup{}, false
	}
	p, ok := c.srcByID[*b.Parent]
	if !ok {
		return repository.Backup{}, false
	}
	return c.heldCopy(p.Manifest)
}

// base is the tree dst holds complete that b is planned against: its
// parent's, when dst holds the parent (repository.CopyDest).
func (c *copier) base(b repository.Backup) *repository.ID {
	if p, ok := c.parentCopy(b); ok {
		return &p.Tree
	}
	return nil
}

// manifest is the copy's manifest: the source's, with
//   - copied_from naming the source repository and backup;
//   - parent the destination's copy of the source's parent, or none;
//   - the summary's blobs_added, packs_added, bytes_added and
//     duration_seconds what the copy added to the destination and took
//     (the other counts describe the backup as it was taken);
//   - repository_format the destination's;
//   - no cluster_operation: sets are not copied, so a member of a
//     cluster backup becomes a backup of its own in dst (which prune
//     would otherwise take for the orphan of a failed cluster backup).
func (c *copier) manifest(b repository.Backup, stats repository.SaveStats, took time.Duration) *repository.Manifest {
	m := *b.Manifest
	m.RepositoryFormat = c.dst.Config().Version
	m.Parent = nil
	if p, ok := c.parentCopy(b); ok {
		m.Parent = &p.ID
	}
	m.ClusterOperation = "" // the set is not copied: the copy stands alone
	m.CopiedFrom = &repository.CopiedFrom{Repository: c.src.Config().ID, Backup: b.ID, Time: c.dst.Now().UTC()}
	m.Summary.BlobsAdded, m.Summary.PacksAdded, m.Summary.BytesAdded = stats.BlobsAdded, stats.PacksAdded, stats.BytesAdded
	m.Summary.DurationSeconds = took.Seconds()
	return &m
}
