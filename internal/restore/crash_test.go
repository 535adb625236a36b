package restore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// errKill stands for a kill: a step hook returning it stops the restore
// there with nothing cleaned up.
var errKill = errors.New("killed by the test")

// killAt returns a step hook that kills the restore at its n-th step (1 is
// the first), and counts the steps it saw.
func killAt(n int, seen *[]string) func(string) error {
	return func(step string) error {
		*seen = append(*seen, step)
		if len(*seen) == n {
			return errKill
		}
		return nil
	}
}

// completed reports whether a restore killed after the steps seen had
// completed: a kill after the marker is removed leaves a complete restore,
// which a rerun does not resume but finds holding data (merge skips it
// all, overwrite replaces it, a plain restore refuses it).
func completed(seen []string) bool { return seen[len(seen)-1] == "marker removed" }

// copyTree copies src to dst with modes and times.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v %s", src, dst, err, out)
	}
}

// treeFiles maps every file below dir to its content's hash and mtime, and
// every directory to "dir": all of it, a restore's leftovers included.
func treeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			out[filepath.ToSlash(rel)] = "dir"
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[filepath.ToSlash(rel)] = fmt.Sprintf("%s %d", hex.EncodeToString(sum[:8]), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// unitOf names the restore unit a path below a target root is in
// (<catalog>/data/<group>/<segment> or <catalog>/data/<group>), or "" for
// the directories above the units.
func unitOf(rel string) string {
	e := strings.Split(rel, "/")
	depth := 4
	if e[0] == string(banyandb.Property) || e[0] == string(banyandb.SchemaProperty) {
		depth = 3
	}
	if len(e) < depth {
		return ""
	}
	return strings.Join(e[:depth], "/")
}

// ownTarget makes, from a complete restore base, a target holding data of
// its own: one segment missing (the restore brings it), one holding a file
// of the target's own (merge keeps it, overwrite replaces the segment), one
// the backup does not have, the trace group and the stream catalog missing.
func ownTarget(t *testing.T, base, dir string) {
	t.Helper()
	copyTree(t, base, dir)
	m := filepath.Join(dir, "measure", "data", "bk_measure")
	for _, p := range []string{filepath.Join(m, "seg-20261121"), filepath.Join(dir, "stream"), filepath.Join(dir, "trace", "data", "bk_trace")} {
		if err := os.RemoveAll(p); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(m, "seg-20261122", "own.txt"), []byte("the target's own"), 0o644); err != nil {
		t.Fatal(err)
	}
	copyTree(t, filepath.Join(m, "seg-20261123"), filepath.Join(m, "seg-20261124"))
}

// expectedTree is what a target holds after a complete restore of base's
// backup with the policy into a target that held own.
func expectedTree(base, own map[string]string, policy restore.ExistingPolicy) map[string]string {
	want := map[string]string{}
	ownUnits := map[string]bool{}
	for p, v := range own {
		want[p] = v
		if u := unitOf(p); u != "" {
			ownUnits[u] = true
		}
	}
	if policy == restore.Overwrite {
		for p := range own {
			if u := unitOf(p); u != "" && ownUnits[u] && base[u] != "" {
				delete(want, p)
			}
		}
	}
	for p, v := range base {
		if u := unitOf(p); policy == restore.Merge && u != "" && ownUnits[u] {
			continue
		}
		if _, ok := want[p]; ok && v == "dir" {
			continue // a directory above the units, which the target had
		}
		want[p] = v
	}
	return want
}

func diffTrees(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	n := 0
	for p, v := range want {
		if got[p] != v && n < 10 {
			t.Errorf("%s: %s: want %q, have %q", what, p, v, got[p])
			n++
		}
	}
	for p, v := range got {
		if _, ok := want[p]; !ok && n < 10 {
			t.Errorf("%s: %s (%s) should not be there", what, p, v)
			n++
		}
	}
}

// TestRestoreKilledAtEveryStepResumes kills plain, merging and overwriting
// restores after each step that changes the target (every marker write,
// directory made, entry renamed or removed), kills half of the reruns
// again at a random step, and checks that a last rerun of the same restore
// finishes with the backup's tree, the target's own data unchanged where
// --merge keeps it, and nothing left beside the target.
func TestRestoreKilledAtEveryStepResumes(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	fast := fastDir(t)
	repo, b := backupRootIn(t, root, fast)
	ctx := context.Background()
	baseDir := filepath.Join(fast, "base")
	if _, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: baseDir}, Location: time.UTC}); err != nil {
		t.Fatal(err)
	}
	sameFiles(t, root, baseDir)
	base := treeFiles(t, baseDir)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	for _, policy := range []restore.ExistingPolicy{restore.RefuseExisting, restore.Merge, restore.Overwrite} {
		t.Run("policy="+string(policy), func(t *testing.T) {
			dir := fastDir(t)
			prepare := func() (string, map[string]string) {
				parent, err := os.MkdirTemp(dir, "")
				if err != nil {
					t.Fatal(err)
				}
				target := filepath.Join(parent, "target")
				if policy != restore.RefuseExisting {
					ownTarget(t, baseDir, target)
				}
				own := map[string]string{}
				if policy != restore.RefuseExisting {
					own = treeFiles(t, target)
				}
				return target, own
			}
			run := func(target string, hook func(string) error) error {
				opts := restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC, Existing: policy, Verify: restore.VerifyQuick}
				if hook != nil {
					restore.SetStepHook(&opts, hook)
				}
				_, err := restore.Run(ctx, repo, b, opts)
				return err
			}
			var steps []string
			target, own := prepare()
			if err := run(target, killAt(0, &steps)); err != nil {
				t.Fatal(err)
			}
			want := expectedTree(base, own, policy)
			diffTrees(t, "uninterrupted", want, treeFiles(t, target))
			t.Logf("%d steps: %s", len(steps), strings.Join(steps, ", "))

			kills := 0
			for k := 1; k <= len(steps) && !t.Failed(); k++ {
				target, own := prepare()
				var seen []string
				if err := run(target, killAt(k, &seen)); !errors.Is(err, errKill) {
					t.Fatalf("kill at step %d (%s): the restore returned %v", k, steps[k-1], err)
				}
				kills++
				complete := completed(seen)
				if !complete && rng.IntN(2) == 0 {
					var again []string
					j := 1 + rng.IntN(len(steps))
					err := run(target, killAt(j, &again))
					switch {
					case errors.Is(err, errKill):
						kills++
						complete = completed(again)
					case err != nil:
						t.Fatalf("killed at step %d (%s), the rerun killed at %d failed: %v", k, steps[k-1], j, err)
					default:
						complete = true
					}
				}
				err := run(target, nil)
				switch {
				case complete && policy == restore.RefuseExisting:
					if !errors.Is(err, restore.ErrTargetNotEmpty) {
						t.Fatalf("killed at step %d (%s), after the restore completed: the rerun returned %v, want the target refused as holding data", k, steps[k-1], err)
					}
				case err != nil:
					t.Fatalf("killed at step %d (%s): the last rerun failed: %v", k, steps[k-1], err)
				}
				diffTrees(t, fmt.Sprintf("killed at step %d (%s)", k, steps[k-1]), expectedTree(base, own, policy), treeFiles(t, target))
				if ents, _ := os.ReadDir(filepath.Dir(target)); len(ents) != 1 {
					t.Errorf("killed at step %d (%s): the target's parent holds %d entries, want only the target", k, steps[k-1], len(ents))
				}
				if err := os.RemoveAll(filepath.Dir(target)); err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%d kills", kills)
		})
	}
}
