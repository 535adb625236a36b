package banyandb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrLocked is wrapped by CheckNotLocked's error when a server holds a lock.
var ErrLocked = errors.New("locked by a running BanyanDB server")

// CheckNotLocked probes every lock file of the selected catalogs (all when
// catalogs is empty): <data>/lock and <data>/<group>/lock under each
// catalog's data directory. Each is probed with a non-blocking exclusive
// flock that is released at once. If any is held, the error wraps ErrLocked
// and names the lock files. Missing data directories and lock files are
// fine.
func CheckNotLocked(roots Roots, catalogs []Catalog) error {
	held, err := HeldLocks(roots, catalogs)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		what := "lock " + held[0] + " is"
		if len(held) > 1 {
			what = "locks " + strings.Join(held, ", ") + " are"
		}
		return fmt.Errorf("cannot use the data root: %w (%s held): the node is running; stop it, or back it up live with --node",
			ErrLocked, what)
	}
	return nil
}

// HeldLocks returns the lock files that a running server holds among those
// CheckNotLocked probes.
func HeldLocks(roots Roots, catalogs []Catalog) ([]string, error) {
	_, held, err := ProbeLocks(roots, catalogs)
	return held, err
}

// ProbeLocks returns the lock files CheckNotLocked probes that exist, and
// those of them a running server holds.
func ProbeLocks(roots Roots, catalogs []Catalog) (files, held []string, err error) {
	cats, err := selectCatalogs(catalogs)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot check locks: %w", err)
	}
	for _, c := range cats {
		dataDir := roots.DataDir(c)
		entries, err := os.ReadDir(dataDir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("cannot check locks in %s: %w", dataDir, err)
		}
		candidates := []string{filepath.Join(dataDir, lockFile)}
		for _, e := range entries {
			if e.IsDir() {
				candidates = append(candidates, filepath.Join(dataDir, e.Name(), lockFile))
			}
		}
		for _, p := range candidates {
			isHeld, err := probeLock(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("cannot check lock %s: %w", p, err)
			}
			files = append(files, p)
			if isHeld {
				held = append(held, p)
			}
		}
	}
	return files, held, nil
}
