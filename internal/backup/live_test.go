package backup_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/sim"
	"github.com/banyan-backup/banyan-backup/internal/snapshot"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// startSim runs the node simulator on a fixture's data root.
func startSim(t *testing.T, name string, w sim.Workload) (*sim.Server, string) {
	t.Helper()
	root := filepath.Join(fixture.ForTest(t, name), "data")
	return startSimOn(t, root, w), root
}

// startSimOn runs the node simulator on a data root.
func startSimOn(t *testing.T, root string, w sim.Workload) *sim.Server {
	t.Helper()
	cfg := sim.DefaultConfig(root)
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	if w.FlushInterval > 0 {
		w.PartSize, w.ClockStep = cfg.Workload.PartSize, cfg.Workload.ClockStep
		cfg.Workload = w
	}
	srv, err := sim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop(context.Background()) })
	return srv
}

// liveKeeping takes a live backup of root through the node at addr that
// keeps the node's snapshot, and returns it with the snapshot's data
// directories.
func liveKeeping(t *testing.T, repo *repository.Repository, root, addr string) (*backup.Result, banyandb.Roots) {
	t.Helper()
	before := snapshotDirs(t, root)
	opts := liveOpts(addr)
	opts.KeepSnapshot = true
	res, err := backup.RunLive(t.Context(), repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res, takenRoots(t, root, before)
}

func newRepo(t *testing.T) *repository.Repository {
	t.Helper()
	repo, err := repository.Init(context.Background(), local.New(filepath.Join(t.TempDir(), "repo")), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	return repo
}

// snapshotDirs lists every catalog's snapshots/ entries under root.
func snapshotDirs(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, c := range banyandb.AllCatalogs() {
		ents, _ := os.ReadDir(filepath.Join(root, string(c), "snapshots"))
		for _, e := range ents {
			out = append(out, string(c)+"/"+e.Name())
		}
	}
	return out
}

// takenRoots returns the data directories of the snapshots the node took
// since before (the entries of snapshotDirs then).
func takenRoots(t *testing.T, root string, before []string) banyandb.Roots {
	t.Helper()
	taken := banyandb.Roots{Data: map[banyandb.Catalog]string{}}
	for _, d := range snapshotDirs(t, root) {
		if slices.Contains(before, d) {
			continue
		}
		c, name, _ := strings.Cut(d, "/")
		dir := filepath.Join(root, c, "snapshots", name)
		if c == string(banyandb.Property) || c == string(banyandb.SchemaProperty) {
			dir = filepath.Join(dir, "data")
		}
		taken.Data[banyandb.Catalog(c)] = dir
	}
	return taken
}

func liveOpts(addr string) backup.LiveOptions {
	return backup.LiveOptions{Node: snapshot.Options{Node: addr, ConnectTimeout: 3 * time.Second, CallTimeout: 30 * time.Second}}
}

func TestLiveBackupRestoresTheSnapshottedData(t *testing.T) {
	for _, name := range []string{fixture.V0102, fixture.V011} {
		for _, api := range []string{"grpc", "http"} {
			t.Run(name+"/"+api, func(t *testing.T) {
				ctx := context.Background()
				srv, root := startSim(t, name, sim.Workload{})
				addr := srv.GRPCAddr()
				if api == "http" {
					addr = "http://" + srv.HTTPAddr()
				}
				// The snapshot the node took is what the backup must hold.
				repo := newRepo(t)
				res, taken := liveKeeping(t, repo, root, addr)
				if len(taken.Data) != 5 {
					t.Fatalf("the node took snapshots of %v, want all five catalogs", taken.Data)
				}
				if res.Manifest.Source.Type != "node" || res.Manifest.Source.APIVersion == "" || len(res.Manifest.Catalogs) != 5 {
					t.Errorf("manifest source %+v, catalogs %v", res.Manifest.Source, res.Manifest.Catalogs)
				}
				target := filepath.Join(t.TempDir(), "t")
				if _, err := restore.Run(ctx, repo, repository.Backup{ID: res.ID, Manifest: res.Manifest}, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
					t.Fatal(err)
				}
				sameContent(t, taken, banyandb.Roots{Root: target})
				if res.Manifest.Summary.Files == 0 {
					t.Error("empty backup")
				}
			})
		}
	}
}

// sameContent checks that the restored data trees hold exactly the files of
// the source data trees with the same bytes (a snapshot copies .snp and
// index files, so their times may differ).
func sameContent(t *testing.T, src, dst banyandb.Roots) {
	t.Helper()
	sameContentBut(t, src, dst, nil)
}

// sameContentBut is sameContent for the restore of a backup that lacks
// parts (its manifest's lacking parts): the .snp of each shard that lacks
// some is replaced by one at the next epoch that lists the others, sorted.
func sameContentBut(t *testing.T, src, dst banyandb.Roots, lacking []repository.LackingParts) {
	t.Helper()
	gone := map[string][]string{} // catalog/shard path → lacking parts
	for _, l := range lacking {
		gone[l.Catalog+"/"+l.ShardPath()] = l.Parts
	}
	want, err := banyandb.Scan(context.Background(), src, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	got, err := banyandb.Scan(context.Background(), dst, banyandb.ScanOptions{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	// expected maps each source file to its restored path and bytes.
	type expected struct {
		path string
		data []byte
	}
	var wantFiles []expected
	for _, f := range want.Files {
		data, err := os.ReadFile(filepath.Join(src.DataDir(f.Catalog), f.Path))
		if err != nil {
			t.Fatal(err)
		}
		p := string(f.Catalog) + "/" + f.Path
		if parts := gone[string(f.Catalog)+"/"+path.Dir(f.Path)]; f.Kind == banyandb.KindSnp && parts != nil {
			listed, err := banyandb.ParseSnp(data)
			if err != nil {
				t.Fatal(err)
			}
			kept := []string{}
			for _, n := range listed {
				if !slices.Contains(parts, n) {
					kept = append(kept, n)
				}
			}
			slices.Sort(kept)
			epoch, _ := banyandb.SnpEpoch(path.Base(f.Path))
			p = string(f.Catalog) + "/" + path.Dir(f.Path) + "/" + fmt.Sprintf("%016x.snp", epoch+1)
			data, _ = json.Marshal(kept)
			delete(gone, string(f.Catalog)+"/"+path.Dir(f.Path))
		}
		wantFiles = append(wantFiles, expected{p, data})
	}
	if len(gone) > 0 {
		t.Errorf("lacking parts recorded for shards without a .snp: %v", gone)
	}
	slices.SortFunc(wantFiles, func(a, b expected) int { return strings.Compare(a.path, b.path) })
	var wantPaths, gotPaths []string
	for _, e := range wantFiles {
		wantPaths = append(wantPaths, e.path)
	}
	for _, f := range got.Files {
		gotPaths = append(gotPaths, string(f.Catalog)+"/"+f.Path)
	}
	slices.Sort(gotPaths)
	if !slices.Equal(wantPaths, gotPaths) {
		t.Fatalf("restored files differ from the source:\nsource   %v\nrestored %v", wantPaths, gotPaths)
	}
	for _, e := range wantFiles {
		c, rel, _ := strings.Cut(e.path, "/")
		b, _ := os.ReadFile(filepath.Join(dst.DataDir(banyandb.Catalog(c)), rel))
		if !bytes.Equal(e.data, b) {
			t.Errorf("%s: restored bytes differ", e.path)
		}
	}
}

func TestLiveBackupFailsOnACatalogError(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{})
	if err := srv.SetFaults(sim.Faults{ErrorCatalog: "stream"}); err != nil {
		t.Fatal(err)
	}
	before := snapshotDirs(t, root)
	repo := newRepo(t)
	_, err := backup.RunLive(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}}, liveOpts(srv.GRPCAddr()))
	if !errors.Is(err, backup.ErrSnapshotFailed) || !strings.Contains(err.Error(), "stream") {
		t.Fatalf("error = %v, want ErrSnapshotFailed naming stream", err)
	}
	if backups, _ := repo.Backups(ctx); len(backups) != 0 {
		t.Errorf("a failed live backup is listed")
	}
	if after := snapshotDirs(t, root); !slices.Equal(before, after) {
		t.Errorf("snapshot directories left: before %v, after %v", before, after)
	}
}

func TestLiveBackupOfAnUnreachableNodeFailsInTime(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo := newRepo(t)
	start := time.Now()
	opts := liveOpts(addr)
	opts.Node.ConnectTimeout = 2 * time.Second
	_, err = backup.RunLive(context.Background(), repo, backup.Options{Roots: banyandb.Roots{Root: root}}, opts)
	if err == nil || !strings.Contains(err.Error(), addr) {
		t.Fatalf("error = %v, want one naming %s", err, addr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to give up, want about the 2s connect timeout", d)
	}
	if backups, _ := repo.Backups(context.Background()); len(backups) != 0 {
		t.Errorf("a failed live backup is listed")
	}
}

// TestLiveBackupsUnderLoad takes 20 backups while the node flushes, merges,
// opens segments and changes its indexes; each restores into a root that
// passes check, whose shards hold exactly the parts their .snp lists.
func TestLiveBackupsUnderLoad(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{FlushInterval: 15 * time.Millisecond, MergeEvery: 3, SegmentEvery: 25, BlugeEvery: 4, Seed: 7})
	repo := newRepo(t)
	before := snapshotDirs(t, root)
	for i := range 20 {
		res, err := backup.RunLive(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC}, liveOpts(srv.GRPCAddr()))
		if err != nil {
			t.Fatalf("backup %d: %v", i, err)
		}
		if after := snapshotDirs(t, root); !slices.Equal(before, after) {
			t.Fatalf("backup %d left snapshot directories: before %v, after %v", i, before, after)
		}
		target := filepath.Join(t.TempDir(), "t")
		if _, err := restore.Run(ctx, repo, repository.Backup{ID: res.ID, Manifest: res.Manifest}, restore.Options{Roots: banyandb.Roots{Root: target}}); err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
		report, err := banyandb.Check(ctx, banyandb.Roots{Root: target}, banyandb.ScanOptions{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		if report.Errors() > 0 || report.Parts == 0 {
			t.Fatalf("backup %d restores to a root that fails check (%d parts): %v", i, report.Parts, report.Issues)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := srv.Stats(); st.Flushes < 20 || st.Merges == 0 {
		t.Errorf("the workload did not run during the backups: %+v", st)
	}
}

func TestLiveBackupOfOneGroup(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{})
	repo := newRepo(t)
	opts := liveOpts(srv.GRPCAddr())
	opts.Groups = []string{"bk_measure"}
	res, err := backup.RunLive(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC}, opts)
	if err != nil {
		t.Fatal(err)
	}
	// The recorded roots are those of the catalogs the node took.
	var recorded []string
	for c := range res.Manifest.Source.Roots {
		recorded = append(recorded, c)
	}
	slices.Sort(recorded)
	cats := slices.Sorted(slices.Values(res.Manifest.Catalogs))
	if !slices.Equal(recorded, cats) {
		t.Errorf("a backup of group bk_measure records roots of %v and catalogs %v", recorded, cats)
	}
	var groups []string
	err = repo.Walk(ctx, res.Manifest.Tree, func(p string, n *repository.Node) error {
		if strings.Count(p, "/") == 1 {
			groups = append(groups, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The schemas come along: without them a restored node has no groups.
	if !slices.Contains(groups, "measure/bk_measure") || !slices.Contains(groups, "schema-property/_schema") ||
		slices.Contains(groups, "stream/bk_stream") || slices.Contains(groups, "trace/bk_trace") {
		t.Errorf("a backup of group bk_measure holds %v", groups)
	}
}

// TestLiveBackupRecordsWhatTheSnapshotLacks: the node holds one part per
// written shard in memory; its snapshot's .snp lists it without linking it
// (docs/banyandb.md, Snapshots). The backup records exactly those parts,
// and its restore passes check: each such shard gets a .snp listing the
// parts it holds, every other file is the snapshot's.
func TestLiveBackupRecordsWhatTheSnapshotLacks(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{})
	for range 2 {
		if err := srv.Step(ctx); err != nil { // the second flushes the first's parts
			t.Fatal(err)
		}
	}
	repo := newRepo(t)
	res, taken := liveKeeping(t, repo, root, srv.GRPCAddr())
	// What the snapshot lacks, read from it.
	var want []string
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		snps, _ := filepath.Glob(filepath.Join(taken.Data[c], "*", "seg-*", "shard-*", "*.snp"))
		for _, snp := range snps {
			b, err := os.ReadFile(snp)
			if err != nil {
				t.Fatal(err)
			}
			listed, err := banyandb.ParseSnp(b)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(taken.Data[c], filepath.Dir(snp))
			for _, p := range listed {
				if _, err := os.Stat(filepath.Join(filepath.Dir(snp), p)); os.IsNotExist(err) {
					want = append(want, string(c)+"/"+filepath.ToSlash(rel)+"/"+p)
				}
			}
		}
	}
	var got []string
	for _, l := range res.Manifest.LackingParts {
		for _, p := range l.Parts {
			got = append(got, l.Catalog+"/"+l.ShardPath()+"/"+p)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) != 4 || !slices.Equal(got, want) {
		t.Fatalf("the backup records lacking parts %v; the snapshot lacks %v (want one per written shard: 4)", got, want)
	}

	target := filepath.Join(t.TempDir(), "t")
	rr, err := restore.Run(ctx, repo, repository.Backup{ID: res.ID, Manifest: res.Manifest}, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Check.Errors() > 0 || rr.SnpWritten != 4 {
		t.Errorf("restore: %d new .snp, check %v; want 4 and no error", rr.SnpWritten, rr.Check.Issues)
	}
	var named []string
	counts := map[string]int{}
	for _, l := range rr.Lacking {
		counts[string(l.Catalog)+"/"+l.Group] = l.Count
		for _, p := range l.Parts {
			named = append(named, string(l.Catalog)+"/"+l.Group+"/"+p)
		}
	}
	slices.Sort(named)
	if !slices.Equal(named, want) || counts["measure/bk_measure"] != 2 || counts["stream/bk_stream"] != 1 || counts["trace/bk_trace"] != 1 {
		t.Errorf("the restore reports lacking %v (%v), want %v", named, counts, want)
	}
	sameContentBut(t, taken, banyandb.Roots{Root: target}, res.Manifest.LackingParts)
}

// TestLiveBackupOfANodeWithoutPropertyGroups: the node names a property
// snapshot without an error but makes no directory for it
// (docs/banyandb.md, Snapshots): the catalog is backed up empty, the
// backup succeeds and restores to a root that passes check. A catalog
// whose answer carries an error still fails (TestLiveBackupFailsOnACatalogError).
func TestLiveBackupOfANodeWithoutPropertyGroups(t *testing.T) {
	ctx := context.Background()
	srv, root := startSim(t, fixture.V011, sim.Workload{})
	if err := os.RemoveAll(filepath.Join(root, "property", "data", "bk_prop")); err != nil {
		t.Fatal(err)
	}
	before := snapshotDirs(t, root)
	repo := newRepo(t)
	res, err := backup.RunLive(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC}, liveOpts(srv.GRPCAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshotDirs(t, root); !slices.Equal(before, after) {
		t.Errorf("snapshot directories left: before %v, after %v", before, after)
	}
	if !slices.Contains(res.Manifest.Catalogs, "property") || len(res.Manifest.Catalogs) != 5 || res.Manifest.Source.Roots["property"] == "" {
		t.Errorf("catalogs %v, roots %v: want all five, property empty", res.Manifest.Catalogs, res.Manifest.Source.Roots)
	}
	target := filepath.Join(t.TempDir(), "t")
	rr, err := restore.Run(ctx, repo, repository.Backup{ID: res.ID, Manifest: res.Manifest}, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if rr.Check.Errors() > 0 || rr.Check.Parts == 0 {
		t.Errorf("restore check: %d parts, %v", rr.Check.Parts, rr.Check.Issues)
	}

	// Only the empty catalog: an empty backup, not a failure.
	res, err = backup.RunLive(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Catalogs: []banyandb.Catalog{banyandb.Property}}, liveOpts(srv.GRPCAddr()))
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Summary.Files != 0 || !slices.Equal(res.Manifest.Catalogs, []string{"property"}) {
		t.Errorf("a backup of the empty property catalog: %d files, catalogs %v", res.Manifest.Summary.Files, res.Manifest.Catalogs)
	}
}
