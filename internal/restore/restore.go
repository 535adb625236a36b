// Package restore writes a backup out of a repository into a BanyanDB data
// root. Every blob is checked against its hash as it is read; files go to a
// staging directory beside the target and are moved into place only when
// all of them are written and synced.
package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/progress"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// MarkerName is the file that marks a restore as incomplete.
const MarkerName = "RESTORE-IN-PROGRESS"

// ErrTargetNotEmpty is returned when the target holds anything.
var ErrTargetNotEmpty = errors.New("restore target is not empty")

// Options says where and how to restore.
type Options struct {
	// Target is the data root to restore into: catalog C goes to
	// <Target>/<C>/data. It must be absent or empty.
	Target string
	// Workers writing files; 0 means GOMAXPROCS.
	Workers  int
	Progress progress.Reporter
	// Location is the server's time zone, for checking segment names; nil
	// means time.Local.
	Location *time.Location
}

// Result counts a finished restore.
type Result struct {
	Backup          string  `json:"backup"`
	Target          string  `json:"target"`
	Files           int64   `json:"files"`
	Dirs            int64   `json:"dirs"`
	Bytes           int64   `json:"bytes"`
	FilesResumed    int64   `json:"files_resumed"`
	DurationSeconds float64 `json:"duration_seconds"`
	// Check is what `check` says of the restored root: whether a node
	// started on it would load it cleanly.
	Check *banyandb.CheckReport `json:"check"`
}

type marker struct {
	Backup  string    `json:"backup"`
	Started time.Time `json:"started"`
}

// Run restores backup b into opts.Target.
func Run(ctx context.Context, repo *repository.Repository, b repository.Backup, opts Options) (*Result, error) {
	start := time.Now()
	target, err := filepath.Abs(opts.Target)
	if err != nil {
		return nil, fmt.Errorf("cannot resolve target %s: %w", opts.Target, err)
	}
	inPlace, err := checkTarget(target, b.ID)
	if err != nil {
		return nil, err
	}
	lock, err := repo.Lock(ctx, "restore", false)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock(ctx)

	plan, err := makePlan(ctx, repo, b)
	if err != nil {
		return nil, err
	}
	staging := target
	if !inPlace {
		staging = filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".banyan-restore")
	}
	resume, err := openStaging(staging, b.ID, repo.Now())
	if err != nil {
		return nil, err
	}
	res := &Result{Backup: b.ID.String(), Target: target, Files: int64(len(plan.files)), Dirs: int64(len(plan.dirs)), Bytes: plan.bytes}
	resumed, err := writeFiles(ctx, repo, plan, staging, resume || inPlace, opts)
	if err != nil {
		if errors.Is(err, repository.ErrIntegrity) && !inPlace {
			// Nothing from this backup can be trusted: drop the staging
			// area. The target was never touched.
			_ = os.RemoveAll(staging)
		}
		return nil, err
	}
	res.FilesResumed = resumed
	if err := finish(staging, target, inPlace); err != nil {
		return nil, err
	}
	res.Check, err = banyandb.Check(ctx, banyandb.Roots{Root: target}, banyandb.ScanOptions{Location: opts.Location})
	if err != nil {
		return nil, fmt.Errorf("restored into %s, but cannot check it: %w", target, err)
	}
	res.DurationSeconds = time.Since(start).Seconds()
	return res, nil
}

// checkTarget accepts an absent or empty target, or one left by an
// interrupted restore of the same backup (then it is resumed in place).
func checkTarget(target string, id repository.ID) (inPlace bool, err error) {
	st, err := os.Stat(target)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot use target %s: %w", target, err)
	}
	if !st.IsDir() {
		return false, fmt.Errorf("cannot restore into %s: it is not a directory", target)
	}
	ents, err := os.ReadDir(target)
	if err != nil {
		return false, fmt.Errorf("cannot read target %s: %w", target, err)
	}
	if len(ents) == 0 {
		return false, nil
	}
	if m, err := readMarker(target); err == nil {
		if m.Backup == id.String() {
			return true, nil
		}
		return false, fmt.Errorf("%w: %s holds an incomplete restore of backup %s: rerun that restore, or remove the directory", ErrTargetNotEmpty, target, repository.ShortHex(m.Backup))
	}
	return false, fmt.Errorf("%w: %s has %d entries: restore into a new or empty directory", ErrTargetNotEmpty, target, len(ents))
}

func readMarker(dir string) (marker, error) {
	var m marker
	data, err := os.ReadFile(filepath.Join(dir, MarkerName))
	if err != nil {
		return m, err
	}
	err = json.Unmarshal(data, &m)
	return m, err
}

// openStaging creates the staging directory with its marker, or checks
// that an existing one belongs to the same backup; then it reports true
// (resume).
func openStaging(staging string, id repository.ID, now time.Time) (bool, error) {
	if m, err := readMarker(staging); err == nil {
		if m.Backup != id.String() {
			return false, fmt.Errorf("cannot restore: %s holds an interrupted restore of backup %s: rerun that restore, or remove the directory", staging, repository.ShortHex(m.Backup))
		}
		return true, nil
	}
	if _, err := os.Stat(staging); err == nil {
		return false, fmt.Errorf("cannot restore: %s exists and is not a restore in progress: remove it", staging)
	}
	if err := os.MkdirAll(staging, 0o755); err != nil {
		return false, fmt.Errorf("cannot create staging directory %s: %w", staging, err)
	}
	data, _ := json.Marshal(marker{Backup: id.String(), Started: now.UTC()})
	if err := writeSynced(filepath.Join(staging, MarkerName), data); err != nil {
		return false, err
	}
	return false, syncDir(filepath.Dir(staging))
}

// finish moves the staged tree into the target and removes the marker.
func finish(staging, target string, inPlace bool) error {
	if err := syncFS(staging); err != nil {
		return err
	}
	if !inPlace {
		if err := moveInto(staging, target); err != nil {
			return err
		}
	}
	if err := os.Remove(filepath.Join(target, MarkerName)); err != nil {
		return fmt.Errorf("cannot remove restore marker in %s: %w", target, err)
	}
	return syncDir(target)
}

// moveInto renames staging to target, or its entries into an empty target.
func moveInto(staging, target string) error {
	if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
		if err := os.Rename(staging, target); err != nil {
			return fmt.Errorf("cannot move restored files into %s: %w", target, err)
		}
		return syncDir(filepath.Dir(target))
	}
	// The target is an empty directory (perhaps a mount point): put the
	// marker in first, then the entries, then drop the staging directory.
	ents, err := os.ReadDir(staging)
	if err != nil {
		return fmt.Errorf("cannot read staging directory %s: %w", staging, err)
	}
	sorted := make([]string, 0, len(ents))
	for _, e := range ents {
		if e.Name() != MarkerName {
			sorted = append(sorted, e.Name())
		}
	}
	if err := os.Rename(filepath.Join(staging, MarkerName), filepath.Join(target, MarkerName)); err != nil {
		return fmt.Errorf("cannot move restored files into %s: %w", target, err)
	}
	for _, name := range sorted {
		if err := os.Rename(filepath.Join(staging, name), filepath.Join(target, name)); err != nil {
			if strings.Contains(err.Error(), "cross-device") {
				return fmt.Errorf("cannot move restored files into %s: it is on another filesystem than its parent (a mount point?): restore into a new directory inside it: %w", target, err)
			}
			return fmt.Errorf("cannot move restored files into %s: %w", target, err)
		}
	}
	if err := os.Remove(staging); err != nil {
		return fmt.Errorf("cannot remove staging directory %s: %w", staging, err)
	}
	return syncDir(target)
}

func workers(opts Options) int {
	if opts.Workers > 0 {
		return opts.Workers
	}
	return runtime.GOMAXPROCS(0)
}
