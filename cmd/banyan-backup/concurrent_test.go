package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
)

// Several backups writing into one repository at once (a cluster: one per
// data node) must not take each other's packs for a killed run's: a backup
// adopts only the packs that stale locks list (recover.go), never those of
// a writer that is alive.

// repoLocation is a repository the CLI writes and the test watches: a
// local directory, or a prefix in a bucket of an object-store test server.
type repoLocation struct {
	url   string
	flags []string        // what the CLI needs to reach it
	be    storage.Backend // the same location, opened from the test
}

// with appends the location's flags to a command line.
func (l repoLocation) with(args ...string) []string { return append(args, l.flags...) }

// repoBackends are the backends the concurrency tests run on. new returns
// a fresh, empty location; called again in one test it returns another.
var repoBackends = []struct {
	name string
	new  func(t *testing.T) repoLocation
}{
	{"local", func(t *testing.T) repoLocation {
		dir := filepath.Join(t.TempDir(), "repo")
		return repoLocation{url: dir, be: openBackend(t, dir, backends.Options{})}
	}},
	{"s3", func(t *testing.T) repoLocation {
		st := objectStoreNamed(t, "s3")
		url, flags := st.setup(t) // skips, or fails under CI=true, without the test server
		return repoLocation{url: url, flags: flags, be: openBackend(t, url, st.opts())}
	}},
}

func objectStoreNamed(t *testing.T, name string) objectStore {
	t.Helper()
	for _, st := range objectStores() {
		if st.name == name {
			return st
		}
	}
	t.Fatalf("no object store %q", name)
	return objectStore{}
}

func openBackend(t *testing.T, url string, o backends.Options) storage.Backend {
	t.Helper()
	be, err := backends.OpenWith(t.Context(), url, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	return be
}

// objects lists the objects below prefix with their sizes.
func (l repoLocation) objects(t *testing.T, prefix string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := l.be.List(t.Context(), prefix, func(o storage.ObjectInfo) error {
		out[o.Name] = o.Size
		return nil
	})
	if err != nil {
		t.Fatalf("cannot list %s in %s: %v", prefix, l.url, err)
	}
	return out
}

// copyTo copies every object of the location into dst.
func (l repoLocation) copyTo(t *testing.T, dst repoLocation) {
	t.Helper()
	for name, size := range l.objects(t, "") {
		data, err := storage.ReadAll(t.Context(), l.be, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := dst.be.Put(t.Context(), name, size, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
}

// runningBackup is a `backup --json` process the test started.
type runningBackup struct {
	root           string
	tmp            string // its temporary directory (TMPDIR), its own
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{} // closed once the process has exited
	err            error         // its exit status, once done
}

func startBackup(t *testing.T, loc repoLocation, root string) *runningBackup {
	t.Helper()
	b := &runningBackup{root: root, tmp: t.TempDir(), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	b.cmd = exec.Command(binary, loc.with("backup", "--repo", loc.url, "--root", root, "--json")...)
	b.cmd.Env = append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache"), "TMPDIR="+b.tmp)
	b.cmd.Stdout, b.cmd.Stderr = b.stdout, b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.err = b.cmd.Wait()
		close(b.done)
	}()
	t.Cleanup(func() {
		_ = b.cmd.Process.Kill()
		<-b.done
	})
	return b
}

// wantNoTempFiles fails the test unless the backup's temporary directory
// is empty: a pack it stages there (an object store's) has no name
// (docs/repository-format.md), so not even a backup killed mid-upload
// leaves one.
func (b *runningBackup) wantNoTempFiles(t *testing.T, when string) {
	t.Helper()
	entries, err := os.ReadDir(b.tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s, the backup's temporary directory holds %s", when, e.Name())
	}
}

func (b *runningBackup) exited() bool {
	select {
	case <-b.done:
		return true
	default:
		return false
	}
}

// result waits for the backup and returns what it printed; it fails the
// test unless the backup succeeded.
func (b *runningBackup) result(t *testing.T) backupOut {
	t.Helper()
	select {
	case <-b.done:
	case <-time.After(2 * time.Minute):
		t.Fatalf("backup of %s still runs after 2 minutes", b.root)
	}
	if b.err != nil {
		t.Fatalf("backup of %s: %v\nstdout: %s\nstderr: %s", b.root, b.err, b.stdout, b.stderr)
	}
	var out backupOut
	if err := json.Unmarshal([]byte(b.stdout.String()), &out); err != nil {
		t.Fatalf("backup of %s printed no JSON: %v\n%s", b.root, err, b.stdout)
	}
	return out
}

// waitFor polls cond until it holds, failing the test after a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rootWithPart extracts a fixture data root and adds a part of size random
// bytes, different in every root.
func rootWithPart(t *testing.T, size int) string {
	t.Helper()
	root := fixtureRoot(t, fixture.V011)
	addPart(t, filepath.Join(root, "stream", "data", "bk_stream", "seg-20261120", "shard-0"), "0000000000000002", size)
	return root
}

// restoresTo restores backup id and compares it with root.
func restoresTo(t *testing.T, loc repoLocation, id, root string) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "restored")
	mustRun(t, loc.with("restore", id, "--repo", loc.url, "--target", target)...)
	compareTrees(t, root, target)
}

// TestConcurrentBackupsAdoptNothing runs three backups of three data roots
// into one fresh repository at once. None may adopt (download to verify and
// index) a pack of another: they are all alive. A backup adopts only as it
// starts, so three started at the same instant would find no pack to
// adopt, whatever the rule (the code before locks recorded packs adopted
// in 1 of 4 such runs). Hence the first runs alone until it has stored a
// pack that no index names (an index file comes every 16 packs, 64 MiB
// here), and only then do the two others start, each finding that pack:
// the code before adopted it in every run. All three succeed, verify and
// restore.
func TestConcurrentBackupsAdoptNothing(t *testing.T) {
	for _, bk := range repoBackends {
		t.Run(bk.name, func(t *testing.T) {
			loc := bk.new(t)
			mustRun(t, loc.with("init", "--repo", loc.url, "--pack-size", "4")...)
			roots := []string{rootWithPart(t, 64<<20), rootWithPart(t, 56<<20), rootWithPart(t, 48<<20)}

			start := time.Now()
			first := startBackup(t, loc, roots[0])
			waitFor(t, "the first backup has stored a pack", func() bool {
				return len(loc.objects(t, "data/")) > 0 || first.exited()
			})
			if first.exited() || len(loc.objects(t, "index/")) != 0 {
				t.Fatalf("the first backup finished or indexed its packs before the others started (exited %v): they overlap too little to test anything", first.exited())
			}
			runs := []*runningBackup{first, startBackup(t, loc, roots[1]), startBackup(t, loc, roots[2])}
			for i, r := range runs {
				out := r.result(t)
				t.Logf("backup %d: %d bytes added, %d packs recovered", i, out.BytesAdded, out.PacksRecovered)
				if out.PacksRecovered != 0 || out.BytesRecovered != 0 {
					t.Errorf("backup %d adopted %d packs (%d bytes) while every other writer was alive: it downloaded their in-flight packs",
						i, out.PacksRecovered, out.BytesRecovered)
				}
				restoresTo(t, loc, out.ID, roots[i])
			}
			t.Logf("three concurrent backups took %v", time.Since(start).Round(time.Millisecond))
			if locks := loc.objects(t, "locks/"); len(locks) != 0 {
				t.Errorf("%d locks left after three backups that succeeded", len(locks))
			}
			mustRun(t, loc.with("verify", "--repo", loc.url, "--read-data")...)
		})
	}
}

// stopped reports whether every thread of the process is stopped (by
// SIGSTOP): it stores nothing more.
func stopped(t *testing.T, pid int) bool {
	t.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("cannot read the threads of process %d: %v", pid, err)
	}
	for _, f := range tasks {
		data, err := os.ReadFile(f)
		if err != nil {
			return false
		}
		// pid (comm) state ...: comm may hold spaces and parentheses.
		s := string(data)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) == 0 || fields[0] != "T" {
			return false
		}
	}
	return true
}

// TestKilledConcurrentBackupIsAdopted kills one of three concurrent backups
// after it has stored some packs; the next backup of its root adopts them
// and uploads only what the killed run had not stored, plus at most the
// pack that was in flight.
//
// To count exactly what the killed run K stored, K runs alone until it has
// stored 2 to 7 packs (a random point, plus the one or two it completes as
// the signal lands; well under 16, so K wrote no index file and its lock
// lists them all), then is frozen with SIGSTOP: once all
// its threads are stopped, the packs that appeared since K started are
// exactly K's, and K stores no more. Frozen, K is still alive, its lock
// not stale: the two other backups run beside it to the end and must adopt
// none of its packs. Then K is killed, which makes its lock stale, and
// the next backup of K's root adopts exactly the packs K stored (on an
// object store, possibly also the one whose upload was all sent when K
// was frozen) and adds at most what a whole backup of that state adds
// (measured on a copy of the repository taken before K started) minus
// what K stored, plus one pack and slack for the index and manifest, as in
// TestKilledBackupResumes. K's temporary directory (TMPDIR), where an
// object store's packs are staged, holds nothing while K is frozen with
// packs in flight, nor after K is killed.
func TestKilledConcurrentBackupIsAdopted(t *testing.T) {
	for _, bk := range repoBackends {
		t.Run(bk.name, func(t *testing.T) {
			loc := bk.new(t)
			mustRun(t, loc.with("init", "--repo", loc.url, "--pack-size", "4")...)
			killedRoot := fixtureRoot(t, fixture.V011)
			backupJSONOf(t, loc.url, killedRoot, loc.flags...) // the fixture, shared by all three roots
			addPart(t, filepath.Join(killedRoot, "stream", "data", "bk_stream", "seg-20261120", "shard-0"), "0000000000000002", 48<<20)
			roots := []string{rootWithPart(t, 16<<20), rootWithPart(t, 20<<20)}

			// What a backup of this state uploads when nothing interrupts it.
			whole := bk.new(t)
			loc.copyTo(t, whole)
			full := backupJSONOf(t, whole.url, killedRoot, whole.flags...)

			before := loc.objects(t, "data/")
			indexes := len(loc.objects(t, "index/"))
			stopAt := len(before) + 2 + rand.IntN(6)
			killed := startBackup(t, loc, killedRoot)
			waitFor(t, fmt.Sprintf("the backup to be killed has stored %d packs", stopAt-len(before)), func() bool {
				return len(loc.objects(t, "data/")) >= stopAt || killed.exited()
			})
			if err := sigstop(t, killed.cmd.Process); err != nil {
				t.Fatalf("the backup to be killed finished first: %v", err)
			}
			waitFor(t, "the backup to be killed is stopped", func() bool { return stopped(t, killed.cmd.Process.Pid) })
			killed.wantNoTempFiles(t, "with the backup stopped mid-upload")
			var stored int64
			storedPacks := 0
			for name, size := range loc.objects(t, "data/") {
				if _, ok := before[name]; !ok {
					stored += size
					storedPacks++
				}
			}
			if n := len(loc.objects(t, "index/")); n != indexes {
				t.Fatalf("the backup to be killed wrote %d index files: it should have stored fewer than 16 packs", n-indexes)
			}

			others := []*runningBackup{startBackup(t, loc, roots[0]), startBackup(t, loc, roots[1])}
			var outs []backupOut
			for i, r := range others {
				out := r.result(t)
				if out.PacksRecovered != 0 {
					t.Errorf("backup %d adopted %d packs of a backup that is stopped but alive", i, out.PacksRecovered)
				}
				outs = append(outs, out)
			}
			if err := killed.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-killed.done
			killed.wantNoTempFiles(t, "after SIGKILL")

			again := backupJSONOf(t, loc.url, killedRoot, loc.flags...)
			// A pack is sealed once it reaches the pack size (4 MiB here), so
			// it holds up to one chunk (4 MiB by default) more.
			const pack = 4<<20 + repository.DefaultChunkSize
			limit := full.BytesAdded - stored + pack + 64<<10 // one pack, plus slack for pack headers, the index and manifest
			t.Logf("killed after %d packs (%d bytes); a whole backup adds %d bytes; the rerun added %d and recovered %d packs (%d bytes)",
				storedPacks, stored, full.BytesAdded, again.BytesAdded, again.PacksRecovered, again.BytesRecovered)
			if again.PacksRecovered == 0 {
				t.Errorf("the rerun adopted none of the %d packs the killed backup stored", storedPacks)
			}
			if again.BytesRecovered < stored || (bk.name == "local" && again.BytesRecovered != stored) || again.BytesRecovered > stored+pack+1<<10 {
				t.Errorf("the rerun adopted %d bytes; the killed backup stored %d (on an object store, plus at most the pack in flight)", again.BytesRecovered, stored)
			}
			if again.BytesAdded > limit {
				t.Errorf("the rerun uploaded %d bytes; want at most the remaining %d plus one pack (%d)", again.BytesAdded, full.BytesAdded-stored, limit)
			}
			// The killed backup's lock stays (`unlock` removes it); a
			// backup after the rerun finds its packs indexed.
			if locks := loc.objects(t, "locks/"); len(locks) != 1 {
				t.Errorf("%d locks left, want the killed backup's", len(locks))
			}
			if next := backupJSONOf(t, loc.url, killedRoot, loc.flags...); next.PacksRecovered != 0 {
				t.Errorf("a backup after the rerun adopted %d packs again", next.PacksRecovered)
			}
			// `unlock` removes it: its process no longer runs, in this
			// same PID namespace.
			if out := mustRun(t, loc.with("unlock", "--repo", loc.url)...); !strings.Contains(out, "no longer runs") || !strings.Contains(out, "removed 1 stale locks") {
				t.Errorf("unlock after the killed backup says %q, want its lock removed because its process no longer runs", out)
			}

			mustRun(t, loc.with("verify", "--repo", loc.url, "--read-data")...)
			restoresTo(t, loc, again.ID, killedRoot)
			for i, out := range outs {
				restoresTo(t, loc, out.ID, roots[i])
			}
		})
	}
}
