package snapshot

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
)

// ClaimFile is the file a running backup keeps in each snapshot directory
// it asked the node for, flocked until it has removed the directory. A
// snapshot directory whose claim file no process holds was left by a
// backup that was killed: RemoveAbandoned deletes it. A snapshot without
// a claim file (one an operator asked for, one kept with KeepSnapshot) is
// never touched. A backup scanning the snapshot leaves the file out.
const ClaimFile = ".banyan-backup-claim"

// ClaimInfo is what a claim file says, for an operator who finds one.
type ClaimInfo struct {
	Tool     string    `json:"tool"`
	Hostname string    `json:"hostname"`
	PID      int       `json:"pid"`
	Time     time.Time `json:"time"`
	Node     string    `json:"node"`
}

// Claim is a backup's hold on the snapshot directories it asked for.
type Claim struct {
	files []*os.File
}

// ClaimSnapshots writes a claim file into each directory of taken that
// exists (a catalog without groups has none), and holds a lock on it until
// Release. The claim file is written under a temporary name, locked, then
// renamed into place, so that no other backup ever finds it unlocked while
// this one runs. On error nothing is claimed.
func ClaimSnapshots(roots banyandb.Roots, taken []Taken, node string) (*Claim, error) {
	host, _ := os.Hostname()
	info, err := json.Marshal(ClaimInfo{Tool: "banyan-backup", Hostname: host, PID: os.Getpid(), Time: time.Now().UTC(), Node: node})
	if err != nil {
		return nil, fmt.Errorf("cannot claim snapshot: %w", err)
	}
	c := &Claim{}
	for _, t := range taken {
		if t.Name == "" || t.Failed() {
			continue
		}
		dir := SnapshotDir(roots, t)
		if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		f, err := claimDir(dir, info)
		if err != nil {
			c.Release()
			return nil, fmt.Errorf("cannot claim %s snapshot %s: %w", t.Catalog, t.Name, err)
		}
		c.files = append(c.files, f)
	}
	return c, nil
}

// claimDir writes and locks the claim file of one snapshot directory.
func claimDir(dir string, info []byte) (*os.File, error) {
	tmp := filepath.Join(dir, ClaimFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	err = lockClaim(f)
	if err == nil {
		_, err = f.Write(append(info, '\n'))
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, ClaimFile))
	}
	if err != nil {
		f.Close()
		_ = os.Remove(tmp)
		return nil, err
	}
	return f, nil
}

// Release lets the claims go: call it once the snapshot directories are
// removed (or kept on purpose). A nil Claim does nothing.
func (c *Claim) Release() {
	if c == nil {
		return
	}
	for _, f := range c.files {
		f.Close() // closing drops the lock
	}
	c.files = nil
}

// RemoveAbandoned deletes the snapshot directories under the roots (every
// catalog's <catalog root>/<catalog>/snapshots) that hold a claim file no
// process holds: those of backups that were killed before they could
// remove them. Snapshots without a claim file, and those of backups still
// running, are left alone. It returns the directories it removed, and goes
// on after a failure, returning the first error. Where claims cannot be
// locked (outside Unix), it removes nothing.
func RemoveAbandoned(roots banyandb.Roots) ([]string, error) {
	var removed []string
	var first error
	var seen []string
	for _, c := range banyandb.AllCatalogs() {
		if roots.CatalogRoot(c) == "" {
			continue
		}
		parent := roots.SnapshotsDir(c)
		if slices.Contains(seen, parent) {
			continue
		}
		seen = append(seen, parent)
		entries, err := os.ReadDir(parent)
		if err != nil {
			if !errors.Is(err, fs.ErrNotExist) && first == nil {
				first = fmt.Errorf("cannot list snapshots: %w", err)
			}
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || !ValidName(e.Name()) {
				continue
			}
			gone, err := removeIfAbandoned(roots, Taken{Catalog: c, Name: e.Name()})
			if gone {
				removed = append(removed, SnapshotDir(roots, Taken{Catalog: c, Name: e.Name()}))
			}
			if err != nil && first == nil {
				first = err
			}
		}
	}
	return removed, first
}

// removeIfAbandoned removes snapshot t if its claim file is there and
// unlocked, holding the lock while it does.
func removeIfAbandoned(roots banyandb.Roots, t Taken) (bool, error) {
	f, err := os.Open(filepath.Join(SnapshotDir(roots, t), ClaimFile))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("cannot read the claim on %s snapshot %s: %w", t.Catalog, t.Name, err)
	}
	defer f.Close()
	free, err := tryLockClaim(f)
	if err != nil || !free {
		return false, err
	}
	if err := remove(roots, t); err != nil {
		return false, fmt.Errorf("cannot remove abandoned snapshot: %w", err)
	}
	return true, nil
}
