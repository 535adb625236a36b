// Package restore writes a backup, or the part of it a selection names, out
// of a repository into BanyanDB data roots. The plan is checked before
// anything is written (every blob indexed, every pack present); each pack
// is then read once, and every blob hashed as it is written to a staging
// directory inside each target root (or, with VerifyPreRead, read and
// hashed in a pass of its own first). Files are moved into place only when
// all of them are written, verified and synced, in steps that a rerun resumes from
// wherever the restore was killed (docs/restore.md, Interrupted restores).
// A target that holds data is refused, or merged into, or has the restored
// segments and groups replaced; a target a running server holds is
// refused. The result is checked as a server would check it on startup.
package restore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// Run restores backup b as opts say.
func Run(ctx context.Context, repo *repository.Repository, b repository.Backup, opts Options) (*Result, error) {
	start := time.Now()
	lock, err := repo.Lock(ctx, "restore", false)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock(ctx)

	if err := repository.CheckManifest(b.Manifest); err != nil {
		return nil, fmt.Errorf("cannot read backup %s: %w", b.ID.Short(), err)
	}
	p, err := makePlan(ctx, repo, b, opts.Selection, opts.Refused)
	repo.DropTreeCache() // the plan holds what the restore needs of the trees
	if err != nil {
		return nil, err
	}
	if err := p.checkContained(); err != nil {
		return nil, err
	}
	cats := p.catalogs()
	roots, targets, byCat, err := resolveTargets(opts.Roots, cats)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		t.hook = opts.stepHook
	}
	if err := targets.inspect(b.ID); err != nil {
		return nil, err
	}
	if !opts.Force {
		if err := checkLocks(roots, cats); err != nil {
			return nil, err
		}
	}
	conflicts, skipped, err := resolveConflicts(p, roots, byCat, opts.Existing)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		if err := t.checkFilesystems(p, byCat); err != nil {
			return nil, err
		}
	}
	if err := checkTargetLinks(roots, p.units, skipped); err != nil {
		return nil, err
	}
	res := &Result{Backup: b.ID.String(), DryRun: opts.DryRun, Conflicts: conflicts}
	if opts.Location != nil {
		res.ServerZone = &repository.ZoneRecord{Name: banyandb.ZoneName(opts.Location), Source: string(opts.ZoneSource)}
	}
	for _, t := range targets {
		res.Targets = append(res.Targets, t.dir)
	}
	for _, c := range banyandb.AllCatalogs() {
		if why := opts.Refused[c]; why != "" && hasCatalog(b, c) {
			res.Refused = append(res.Refused, Refusal{Catalog: c, Reason: why})
		}
	}
	res.summarize(p, roots, opts.Selection, skipped)
	if res.Verify, err = ParseVerifyMode(string(opts.Verify)); err != nil {
		return nil, err
	}

	p.place(byCat)
	if res.FilesResumed, err = p.markDone(byCat, repo.Config().ChunkSize); err != nil {
		return nil, err
	}
	packs, err := neededPacks(repo, p, b)
	if err != nil {
		return nil, err
	}
	if err := checkPacksPresent(ctx, repo, packs, b); err != nil {
		return nil, err
	}
	if opts.DryRun {
		res.DurationSeconds = time.Since(start).Seconds()
		return res, nil
	}
	rep := progress.OrNop(opts.Progress)
	if res.Verify == VerifyPreRead {
		if err := readAll(ctx, repo, packs, b, workers(opts), rep); err != nil {
			if errors.Is(err, repository.ErrIntegrity) {
				err = fmt.Errorf("%w; nothing was written", err)
			}
			return nil, err
		}
	}

	if err := targets.open(b.ID, opts.Existing, repo.Now()); err != nil {
		return nil, err
	}
	err = writeFiles(ctx, repo, p, b, targets.stagingDirs(), opts)
	if err != nil {
		if errors.Is(err, repository.ErrIntegrity) {
			// Nothing from this backup can be trusted: drop what was
			// staged, unless an earlier run began moving it in.
			if targets.abandon() {
				err = fmt.Errorf("%w; nothing was moved into the target, and what was staged is removed", err)
			} else {
				err = fmt.Errorf("%w; an interrupted run of this restore had begun moving files into the target, which is left marked incomplete", err)
			}
		}
		return nil, err
	}
	if err := targets.finish(p); err != nil {
		return nil, err
	}
	res.Check, err = banyandb.Check(ctx, roots, banyandb.ScanOptions{Catalogs: cats, Location: opts.Location, ZoneUnchecked: true})
	if err != nil {
		return nil, fmt.Errorf("restored into %s, but cannot check it: %w", res.Targets[0], err)
	}
	res.DurationSeconds = time.Since(start).Seconds()
	return res, nil
}

// catalogs lists the catalogs the plan restores.
func (p *plan) catalogs() []banyandb.Catalog {
	seen := map[banyandb.Catalog]bool{}
	for _, u := range p.units {
		seen[u.cat] = true
	}
	var cats []banyandb.Catalog
	for _, c := range banyandb.AllCatalogs() {
		if seen[c] {
			cats = append(cats, c)
		}
	}
	return cats
}

// place sets where every directory and file is staged: below its catalog
// root's staging directory, at <catalog>/data/<rel>.
func (p *plan) place(byCat map[banyandb.Catalog]*targetRoot) {
	for i := range p.dirs {
		d := &p.dirs[i]
		d.staging = byCat[d.cat].staging
		d.dst = filepath.Join(d.staging, targetPath(d.cat, d.rel))
	}
	for i := range p.files {
		f := &p.files[i]
		f.dst = filepath.Join(byCat[f.cat].staging, targetPath(f.cat, f.rel))
	}
}

func workers(opts Options) int {
	if opts.Workers > 0 {
		return opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}

func hasCatalog(b repository.Backup, c banyandb.Catalog) bool {
	for _, s := range b.Catalogs {
		if s == string(c) {
			return true
		}
	}
	return false
}
