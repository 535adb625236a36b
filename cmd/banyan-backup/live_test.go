package main

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

func TestLiveBackupCommand(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, false)

	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	first := backupJSONOf(t, repo, root, "--node", srv.GRPCAddr())
	second := backupJSONOf(t, repo, root, "--node", "http://"+srv.HTTPAddr())
	if first.SnapshotSecs <= 0 || second.SnapshotSecs <= 0 {
		t.Errorf("live backups report no snapshot time: %v, %v", first.SnapshotSecs, second.SnapshotSecs)
	}
	if second.FilesRead >= first.Files {
		t.Errorf("the second live backup read %d of %d files: unchanged parts should not be read", second.FilesRead, first.Files)
	}
	show := mustRun(t, "show", second.ShortID, "--repo", repo)
	if !strings.Contains(show, "source      node http://"+srv.HTTPAddr()) || !strings.Contains(show, "API 0.11") {
		t.Errorf("show does not name the node and its API version:\n%s", show)
	}
	target := filepath.Join(t.TempDir(), "restored")
	mustRun(t, "restore", second.ID, "--repo", repo, "--target", target)
	mustRun(t, "check", target)

	// An unreachable node: exit 1 within the timeout, the address named,
	// nothing listed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	l.Close()
	start := time.Now()
	r := run(t, "backup", "--repo", repo, "--root", root, "--node", dead, "--connect-timeout", "2s")
	if r.code != 1 || !strings.Contains(r.stderr, dead) {
		t.Errorf("unreachable node: exit %d, stderr %q; want 1 naming %s", r.code, r.stderr, dead)
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("gave up after %v, want about 2s", d)
	}
	if out := mustRun(t, "list", "--repo", repo, "--json"); strings.Count(out, `"id"`) != 2 {
		t.Errorf("after a failed live backup the repository lists:\n%s", out)
	}
}

// TestLiveBackupUnderWritesRestoresClean: a node under steady writes holds
// parts in memory that its snapshot's .snp lists but cannot link
// (docs/banyandb.md, Snapshots). The backup records them, show names them,
// and the restore exits 0 with a clean check, names them per group, and
// leaves every shard's .snp listing exactly the parts it holds.
func TestLiveBackupUnderWritesRestoresClean(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	srv := startSim(t, root, false)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	var b struct {
		ID           string                    `json:"id"`
		ShortID      string                    `json:"short_id"`
		LackingParts []repository.LackingParts `json:"lacking_parts"`
	}
	decode(t, mustRun(t, "backup", "--repo", repo, "--root", root, "--node", srv.GRPCAddr(), "--json"), &b)
	var lacking []string // <catalog>/<group>/<segment>/shard-N/<part>
	for _, l := range b.LackingParts {
		for _, p := range l.Parts {
			lacking = append(lacking, l.Catalog+"/"+l.ShardPath()+"/"+p)
		}
	}
	if len(lacking) == 0 {
		t.Fatalf("a live backup under writes records no lacking parts")
	}
	if show := mustRun(t, "show", b.ShortID, "--repo", repo); !strings.Contains(show, "lacking     "+partsText(len(lacking))) ||
		!strings.Contains(show, b.LackingParts[0].Parts[0]) {
		t.Errorf("show does not name the %d lacking parts:\n%s", len(lacking), show)
	}

	target := filepath.Join(t.TempDir(), "restored")
	var res struct {
		Lacking []struct {
			Catalog, Group string
			Count          int
			Parts          []string
		} `json:"lacking_parts"`
		SnpWritten int `json:"snp_written"`
		Check      struct {
			Issues []banyandb.Issue `json:"issues"`
		} `json:"check"`
	}
	decode(t, mustRun(t, "restore", b.ID, "--repo", repo, "--target", target, "--json"), &res)
	var reported []string
	for _, l := range res.Lacking {
		if l.Count != len(l.Parts) {
			t.Errorf("%s/%s: count %d, parts %v", l.Catalog, l.Group, l.Count, l.Parts)
		}
		for _, p := range l.Parts {
			reported = append(reported, l.Catalog+"/"+l.Group+"/"+p)
		}
	}
	slices.Sort(lacking)
	slices.Sort(reported)
	if !slices.Equal(reported, lacking) || res.SnpWritten == 0 {
		t.Errorf("the restore reports %v (%d new .snp), the backup lacks %v", reported, res.SnpWritten, lacking)
	}
	for _, i := range res.Check.Issues {
		if i.Severity == banyandb.SeverityError {
			t.Errorf("check: %s", i)
		}
	}
	text := mustRun(t, "restore", b.ID, "--repo", repo, "--target", filepath.Join(t.TempDir(), "r2"))
	if !strings.Contains(text, "not in the backup: ") || !strings.Contains(text, lacking[0][strings.LastIndex(lacking[0], "/")+1:]) {
		t.Errorf("the restore's text does not name what the backup lacks:\n%s", text)
	}
	mustRun(t, "check", target)
	wantShardsListExactlyTheirParts(t, target)
}

// wantShardsListExactlyTheirParts checks that the newest .snp of every
// measure, stream and trace shard under root lists exactly the part
// directories the shard holds.
func wantShardsListExactlyTheirParts(t *testing.T, root string) {
	t.Helper()
	shards := 0
	for _, c := range []string{"measure", "stream", "trace"} {
		dirs, _ := filepath.Glob(filepath.Join(root, c, "data", "*", "seg-*", "shard-*"))
		for _, dir := range dirs {
			ents, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			var held []string
			newest, epoch := "", uint64(0)
			for _, e := range ents {
				if banyandb.IsPartName(e.Name()) && e.IsDir() {
					held = append(held, e.Name())
				}
				if ep, ok := banyandb.SnpEpoch(e.Name()); ok && (newest == "" || ep > epoch) {
					newest, epoch = e.Name(), ep
				}
			}
			if newest == "" {
				continue
			}
			data, err := os.ReadFile(filepath.Join(dir, newest))
			if err != nil {
				t.Fatal(err)
			}
			listed, err := banyandb.ParseSnp(data)
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(listed)
			if !slices.Equal(listed, held) {
				t.Errorf("%s: %s lists %v, the shard holds %v", dir, newest, listed, held)
			}
			shards++
		}
	}
	if shards == 0 {
		t.Errorf("no shard under %s", root)
	}
}

// TestLiveBackupOfANodeWithoutPropertyGroups: the node names a property
// snapshot without an error but has no property group, so there is no
// directory (docs/banyandb.md, Snapshots): the backup succeeds, and its
// restore passes check.
func TestLiveBackupOfANodeWithoutPropertyGroups(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	if err := os.RemoveAll(filepath.Join(root, "property", "data", "bk_prop")); err != nil {
		t.Fatal(err)
	}
	srv := startSim(t, root, true)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)
	b := backupJSONOf(t, repo, root, "--node", srv.GRPCAddr())
	if show := mustRun(t, "show", b.ShortID, "--repo", repo); !strings.Contains(show, "property") {
		t.Errorf("show does not list the empty property catalog:\n%s", show)
	}
	target := filepath.Join(t.TempDir(), "restored")
	mustRun(t, "restore", b.ID, "--repo", repo, "--target", target)
	mustRun(t, "check", target)
}
