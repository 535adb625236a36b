package main

import (
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
)

// ownTargetOf makes a target holding data of its own from a complete
// restore: one measure segment missing, one with a file of the target's
// own, the stream catalog missing.
func ownTargetOf(t *testing.T, base, dir string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", base, dir).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v %s", err, out)
	}
	m := filepath.Join(dir, "measure", "data", "bk_measure")
	for _, p := range []string{filepath.Join(m, "seg-20261121"), filepath.Join(dir, "stream")} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(m, "seg-20261122", "own.txt"), []byte("the target's own"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// unitOfPath names the restore unit a path of listDataTrees is in, or ""
// above the units.
func unitOfPath(rel string) string {
	e := strings.Split(filepath.ToSlash(rel), "/")
	depth := 4
	if e[0] == "property" || e[0] == "schema-property" {
		depth = 3
	}
	if len(e) < depth {
		return ""
	}
	return strings.Join(e[:depth], "/")
}

// mergedTree is what a target holding own holds after a complete restore
// of base's backup with --merge (keep the units it has) or --overwrite
// (replace them).
func mergedTree(base, own map[string]entry, overwrite bool) map[string]entry {
	want := map[string]entry{}
	ownUnits := map[string]bool{}
	for p, e := range own {
		want[p] = e
		if u := unitOfPath(p); u != "" {
			ownUnits[u] = true
		}
	}
	for p, e := range base {
		u := unitOfPath(p)
		if u != "" && ownUnits[u] && !overwrite {
			continue
		}
		want[p] = e
	}
	if overwrite {
		for p := range own {
			if u := unitOfPath(p); u != "" && ownUnits[u] {
				if _, inBase := base[u]; inBase {
					if _, ok := base[p]; !ok {
						delete(want, p)
					}
				}
			}
		}
	}
	return want
}

func sameEntries(t *testing.T, what string, want, got map[string]entry) {
	t.Helper()
	n := 0
	for p, e := range want {
		if g, ok := got[p]; (!ok || g != e) && n < 10 {
			t.Errorf("%s: %s: want %+v, have %+v (present %v)", what, p, e, g, ok)
			n++
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok && n < 10 {
			t.Errorf("%s: %s should not be there", what, p)
			n++
		}
	}
}

// killedRun starts a restore and kills it with SIGKILL after delay. It
// reports whether the kill came before the restore exited.
func killedRun(t *testing.T, args []string, delay time.Duration) bool {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "BANYAN_BACKUP_REPO=", "TZ=UTC", "XDG_CACHE_HOME="+filepath.Join(filepath.Dir(binary), "cache"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	state, _ := cmd.Process.Wait()
	ws, ok := state.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// TestKilledRestoresResume kills plain, --merge and --overwrite restores
// with SIGKILL after random delays, kills some of the reruns again, and
// checks that running the same command once more completes the restore:
// the backup's tree restored, the target's own units unchanged by
// --merge, nothing left beside the target or of the restore's own in it.
func TestKilledRestoresResume(t *testing.T) {
	src := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, src)
	base := filepath.Join(t.TempDir(), "base")
	mustRun(t, "restore", b.ID, "--repo", repo, "--target", base)
	compareTrees(t, src, base)
	baseTree := listDataTrees(t, base)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)

	const rounds = 12
	for _, policy := range []string{"", "--merge", "--overwrite"} {
		t.Run("policy="+policy, func(t *testing.T) {
			fast := fastDir(t)
			prepare := func(i int) string {
				target := filepath.Join(fast, fmt.Sprint(i), "target")
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					t.Fatal(err)
				}
				if policy != "" {
					ownTargetOf(t, base, target)
				}
				return target
			}
			args := func(target string) []string {
				a := []string{"restore", b.ID, "--repo", repo, "--target", target, "--verify", "quick", "--quiet"}
				if policy != "" {
					// A target of segment format 1.5.0 may be 0.10.3's or
					// 0.11's: the first run needs the release too.
					a = append(a, policy, "--target-version", "0.11")
				}
				return a
			}
			// How long a whole restore takes (the quicker of two): kills
			// are spread over it.
			whole := time.Hour
			for i := range 2 {
				start := time.Now()
				mustRun(t, args(prepare(-1-i))...)
				whole = min(whole, time.Since(start))
			}

			kills := 0
			for i := 1; i <= rounds; i++ {
				target := prepare(i)
				own := listDataTrees(t, target)
				for again := 0; again < 2; again++ {
					delay := time.Duration(rng.Int64N(int64(whole)))
					if !killedRun(t, args(target), delay) {
						break
					}
					kills++
					if rng.IntN(2) == 0 {
						break
					}
				}
				// A plain restore killed after it removed its marker is
				// complete: a rerun finds a target holding data, and
				// refuses it (for the data, or for the release it reads
				// from it: 0.10.3 or 0.11).
				_, markErr := os.Stat(filepath.Join(target, "RESTORE-IN-PROGRESS"))
				complete := policy == "" && os.IsNotExist(markErr) && len(listDataTrees(t, target)) > 0
				r := run(t, args(target)...)
				switch {
				case r.code == 0:
				case complete && r.code == 1:
				default:
					t.Fatalf("round %d: the rerun exited %d (the marker: %v): %s", i, r.code, markErr, r.stderr)
				}
				got := listDataTrees(t, target)
				if policy == "" {
					sameEntries(t, fmt.Sprintf("round %d", i), baseTree, got)
				} else {
					sameEntries(t, fmt.Sprintf("round %d", i), mergedTree(baseTree, own, policy == "--overwrite"), got)
				}
				ents, _ := os.ReadDir(target)
				for _, e := range ents {
					if !strings.Contains(" measure stream trace property schema-property ", " "+e.Name()+" ") {
						t.Errorf("round %d: the target holds %s", i, e.Name())
					}
				}
				if ents, _ := os.ReadDir(filepath.Dir(target)); len(ents) != 1 {
					t.Errorf("round %d: %d entries beside the target", i, len(ents)-1)
				}
			}
			t.Logf("%d kills in %d rounds (a whole restore took %v)", kills, rounds, whole)
		})
	}
}
