package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// restoreRun is one restore as its flags set it up, before the
// repository is opened.
type restoreRun struct {
	rf     *restoreFlags
	opts   restore.Options
	roots  banyandb.Roots
	cats   []banyandb.Catalog
	given  *time.Location
	target engine.RestoreTarget
	lim    runLimits
	now    time.Time
}

// setup checks the flags and reads them into a restore's options.
func (rf *restoreFlags) setup(g *globals) (*restoreRun, error) {
	if rf.target.root == "" && !rf.target.anyOverride() {
		return nil, usagef("no target given: use --target DIR")
	}
	if rf.merge && rf.overwrite {
		return nil, usagef("--merge and --overwrite exclude each other")
	}
	if rf.ifEmpty && (rf.merge || rf.overwrite) {
		return nil, usagef("--if-empty restores only into empty targets: leave out --merge and --overwrite")
	}
	run := &restoreRun{rf: rf, now: time.Now()}
	var err error
	if run.roots, run.cats, run.given, err = rf.target.resolve(); err != nil {
		return nil, err
	}
	opts := restore.Options{Roots: run.roots, DryRun: rf.dryRun, Force: rf.force, Progress: newProgress(g, os.Stderr)}
	if opts.Owners, err = rf.owners(); err != nil {
		return nil, err
	}
	opts.Selection = restore.Selection{Catalogs: run.cats, Groups: rf.groups, NoSchema: rf.noSchema}
	// Read in the local zone first, to refuse a bad window before the
	// repository is opened; read again once the backup gives the zone.
	if err := rf.window(&opts.Selection, run.now, time.Local); err != nil {
		return nil, err
	}
	if opts.Selection.Granularity, err = restore.ParseGranularity(rf.granularity); err != nil {
		return nil, usageError{err}
	}
	if opts.Verify, err = restore.ParseVerifyMode(rf.verify); err != nil {
		return nil, usageError{err}
	}
	switch {
	case rf.merge:
		opts.Existing = restore.Merge
	case rf.overwrite:
		opts.Existing = restore.Overwrite
	}
	if run.lim, err = rf.limits.apply(); err != nil {
		return nil, err
	}
	opts.Workers = run.lim.workers
	if run.target, err = rf.compat.target(); err != nil {
		return nil, err
	}
	run.target.IntoEmpty = opts.Existing == restore.RefuseExisting
	run.opts = opts
	return run, nil
}

// restore restores b: the zone chosen, the window read in it, the
// catalogs the target release cannot use left out. Unless quiet, it says
// in which zone dates were read when that matters.
func (run *restoreRun) restore(ctx context.Context, w io.Writer, quiet bool, repo *repository.Repository, b repository.Backup) (*restore.Result, error) {
	rf, opts := run.rf, run.opts
	zone, reread, err := restore.ZoneFor(b, run.given)
	switch {
	case err != nil && (run.given != nil || rf.from != "" || rf.to != ""):
		return nil, err
	case err != nil: // no window: the zone does not matter
		zone = banyandb.Zone{Location: time.Local, Source: banyandb.ZoneLocal}
	}
	opts.Location, opts.ZoneSource = zone.Location, zone.Source
	if reread {
		opts.Selection.Zone = zone.Location
	}
	if err := rf.window(&opts.Selection, run.now, zone.Location); err != nil {
		return nil, err
	}
	if (rf.dryRun || rf.from != "" || rf.to != "") && !quiet {
		fmt.Fprintf(w, "dates and segment names read in %s\n", zone.Describe())
	}
	if opts.Refused, err = engine.RestoreRefusals(ctx, b, run.roots, zone.Location, opts.Selection, run.target); err != nil {
		return nil, err
	}
	return restore.Run(ctx, repo, b, opts)
}
