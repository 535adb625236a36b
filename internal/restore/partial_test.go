package restore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// backupRoot backs up a data root into a new repository.
func backupRoot(t *testing.T, root string) (*repository.Repository, repository.Backup) {
	t.Helper()
	return backupRootIn(t, root, t.TempDir())
}

// backupRootIn is backupRoot with the repository in dir.
func backupRootIn(t *testing.T, root, dir string) (*repository.Repository, repository.Backup) {
	t.Helper()
	ctx := context.Background()
	repo, err := repository.Init(ctx, local.New(filepath.Join(dir, "repo")), repository.InitOptions{PackSize: 64 << 10}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	res, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return repo, repository.Backup{ID: res.ID, Manifest: res.Manifest}
}

// relFiles lists the files below dir, slash-separated, relative to it.
func relFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			r, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestPartialRestoreOneGroupTwoDays(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	repo, b := backupRoot(t, root)
	target := filepath.Join(t.TempDir(), "target")
	from, _ := restore.ParseTimeArg("2026-11-20", time.Now(), time.UTC, false)
	to, _ := restore.ParseTimeArg("2026-11-21", time.Now(), time.UTC, true)
	res, err := restore.Run(context.Background(), repo, b, restore.Options{
		Roots:     banyandb.Roots{Root: target},
		Location:  time.UTC,
		Selection: restore.Selection{Catalogs: []banyandb.Catalog{banyandb.Measure}, Groups: []string{"bk_measure"}, From: from, To: to},
	})
	if err != nil {
		t.Fatal(err)
	}
	cats, _ := os.ReadDir(target)
	var names []string
	for _, c := range cats {
		names = append(names, c.Name())
	}
	if strings.Join(names, ",") != "measure,schema-property" {
		t.Errorf("restored catalogs %v, want measure and schema-property", names)
	}
	segs, _ := os.ReadDir(filepath.Join(target, "measure", "data", "bk_measure"))
	names = nil
	for _, s := range segs {
		names = append(names, s.Name())
	}
	if strings.Join(names, ",") != "seg-20261120,seg-20261121" {
		t.Errorf("restored segments %v, want seg-20261120 and seg-20261121", names)
	}
	if groups, _ := os.ReadDir(filepath.Join(target, "measure", "data")); len(groups) != 1 {
		t.Errorf("restored measure groups %d, want only bk_measure", len(groups))
	}
	for _, seg := range []string{"seg-20261120", "seg-20261121"} {
		rel := filepath.Join("measure", "data", "bk_measure", seg)
		for _, f := range relFiles(t, filepath.Join(root, rel)) {
			a, _ := os.ReadFile(filepath.Join(root, rel, f))
			c, err := os.ReadFile(filepath.Join(target, rel, f))
			if err != nil || !bytes.Equal(a, c) {
				t.Errorf("%s/%s: restored content differs (%v)", rel, f, err)
			}
		}
	}
	if got, want := relFiles(t, filepath.Join(target, "schema-property", "data")), relFiles(t, filepath.Join(root, "schema-property", "data")); strings.Join(got, ",")+",lock" != strings.Join(want, ",") {
		t.Errorf("schema restored with %d files, want %d", len(got), len(want))
	}
	if res.Segments != 2 || res.Check == nil || res.Check.Errors() != 0 {
		t.Errorf("result: %d segments, check %+v", res.Segments, res.Check)
	}
}

// addTimedPart copies an existing part under a new name with its
// metadata.json's timestamps replaced.
func addTimedPart(t *testing.T, shard, from, name string, min, max time.Time) {
	t.Helper()
	src, dst := filepath.Join(shard, from), filepath.Join(shard, name)
	if err := os.Mkdir(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range relFiles(t, src) {
		data, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "metadata.json" {
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			m["minTimestamp"], m["maxTimestamp"] = min.UnixNano(), max.UnixNano()
			data, _ = json.Marshal(m)
		}
		if err := os.WriteFile(filepath.Join(dst, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// replaceSnp removes a shard's .snp files and writes one at epoch listing
// parts.
func replaceSnp(t *testing.T, shard string, epoch uint64, parts ...string) {
	t.Helper()
	ents, _ := os.ReadDir(shard)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".snp") {
			os.Remove(filepath.Join(shard, e.Name()))
		}
	}
	data, _ := json.Marshal(parts)
	if err := os.WriteFile(filepath.Join(shard, fmt.Sprintf("%016x.snp", epoch)), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPartGranularityRestoresOverlappingLiveParts(t *testing.T) {
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	shard := filepath.Join(root, "measure", "data", "bk_measure", "seg-20261120", "shard-0")
	const p1 = "0000000000000001"
	// p2 overlaps the window, p3 does not, p4 overlaps but no .snp lists
	// it (a server would delete it).
	addTimedPart(t, shard, p1, "0000000000000002", utc("2026-11-20T06:00:00Z"), utc("2026-11-20T06:50:00Z"))
	addTimedPart(t, shard, p1, "0000000000000003", utc("2026-11-20T12:00:00Z"), utc("2026-11-20T12:50:00Z"))
	addTimedPart(t, shard, p1, "0000000000000004", utc("2026-11-20T06:00:00Z"), utc("2026-11-20T06:50:00Z"))
	replaceSnp(t, shard, 0x20, p1, "0000000000000002", "0000000000000003")
	repo, b := backupRoot(t, root)

	target := filepath.Join(t.TempDir(), "target")
	res, err := restore.Run(context.Background(), repo, b, restore.Options{
		Roots:    banyandb.Roots{Root: target},
		Location: time.UTC,
		Selection: restore.Selection{Catalogs: []banyandb.Catalog{banyandb.Measure}, Groups: []string{"bk_measure"},
			From: utc("2026-11-20T06:10:00Z"), To: utc("2026-11-20T06:20:00Z"), Granularity: restore.ByPart},
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Check.Errors() != 0 {
		t.Fatalf("check of the part restore: %v", res.Check.Issues)
	}
	seg := filepath.Join(target, "measure", "data", "bk_measure")
	if segs, _ := os.ReadDir(seg); len(segs) != 1 || segs[0].Name() != "seg-20261120" {
		t.Fatalf("restored segments %v, want only seg-20261120", segs)
	}
	want := map[string][]string{
		"shard-0": {p1, "0000000000000002"},
		"shard-1": {p1},
	}
	for sh, parts := range want {
		dir := filepath.Join(seg, "seg-20261120", sh)
		ents, _ := os.ReadDir(dir)
		var gotParts, snps []string
		for _, e := range ents {
			switch {
			case banyandb.IsPartName(e.Name()):
				gotParts = append(gotParts, e.Name())
			case strings.HasSuffix(e.Name(), ".snp"):
				snps = append(snps, e.Name())
			}
		}
		if strings.Join(gotParts, ",") != strings.Join(parts, ",") {
			t.Errorf("%s: restored parts %v, want %v", sh, gotParts, parts)
		}
		if len(snps) != 1 {
			t.Fatalf("%s: .snp files %v, want exactly one new one", sh, snps)
		}
		data, _ := os.ReadFile(filepath.Join(dir, snps[0]))
		listed, err := banyandb.ParseSnp(data)
		if err != nil || strings.Join(listed, ",") != strings.Join(parts, ",") {
			t.Errorf("%s: new .snp lists %v (%v), want %v", sh, listed, err, parts)
		}
		epoch, _ := banyandb.SnpEpoch(snps[0])
		srcEnts, _ := os.ReadDir(filepath.Join(root, "measure", "data", "bk_measure", "seg-20261120", sh))
		for _, e := range srcEnts {
			if old, ok := banyandb.SnpEpoch(e.Name()); ok && old >= epoch {
				t.Errorf("%s: new .snp epoch %x is not above the backup's %x", sh, epoch, old)
			}
		}
	}
	if res.SnpWritten != 2 || res.Parts != 3 {
		t.Errorf("result: %d .snp written, %d parts; want 2 and 3", res.SnpWritten, res.Parts)
	}
}

func TestDryRunWritesNothing(t *testing.T) {
	repo, _, b := setup(t)
	target := filepath.Join(t.TempDir(), "target")
	res, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dry run created the target: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Dir(target)); len(ents) != 0 {
		t.Errorf("dry run left %v beside the target", ents)
	}
	if !res.DryRun || res.Segments == 0 || res.Files == 0 || len(res.Units) == 0 || res.Check != nil {
		t.Errorf("dry-run result: %+v", res)
	}
}

func TestNonEmptyTargetRefusedMergedOrOverwritten(t *testing.T) {
	repo, root, b := setup(t)
	target := filepath.Join(t.TempDir(), "target")
	opts := restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC}
	if _, err := restore.Run(context.Background(), repo, b, opts); err != nil {
		t.Fatal(err)
	}
	before := relFiles(t, target)
	_, err := restore.Run(context.Background(), repo, b, opts)
	if !errors.Is(err, restore.ErrTargetNotEmpty) || !strings.Contains(err.Error(), "--merge") || !strings.Contains(err.Error(), target) {
		t.Fatalf("restore into a full target: %v, want ErrTargetNotEmpty naming the target and --merge", err)
	}
	if after := relFiles(t, target); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Fatalf("a refused restore changed the target: %d files, was %d", len(after), len(before))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(target), ".target.banyan-restore")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused restore left a staging directory: %v", err)
	}

	seg := filepath.Join(target, "measure", "data", "bk_measure", "seg-20261120")
	extra := filepath.Join(target, "measure", "data", "bk_measure", "seg-20261124")
	if err := os.RemoveAll(seg); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(extra, 0o755); err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(target, "measure", "data", "bk_measure", "seg-20261121", "metadata")
	if err := os.WriteFile(changed, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts.Existing = restore.Merge
	res, err := restore.Run(context.Background(), repo, b, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(seg, "metadata")); err != nil {
		t.Errorf("merge did not add the missing segment: %v", err)
	}
	if data, _ := os.ReadFile(changed); string(data) != "changed" {
		t.Errorf("merge overwrote an existing segment")
	}
	if len(res.Conflicts) == 0 || res.Conflicts[0].Action != "skipped" {
		t.Errorf("merge listed conflicts %v", res.Conflicts)
	}

	opts.Existing = restore.Overwrite
	if _, err := restore.Run(context.Background(), repo, b, opts); err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(root, "measure", "data", "bk_measure", "seg-20261121", "metadata"))
	if data, _ := os.ReadFile(changed); !bytes.Equal(data, want) {
		t.Errorf("overwrite left the changed segment: %q", data)
	}
	if _, err := os.Stat(extra); err != nil {
		t.Errorf("overwrite removed a segment the backup does not have: %v", err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(target), ".target.banyan-restore")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging directory left: %v", err)
	}
}

func TestDamagedPackRefusedBeforeTargetIsTouched(t *testing.T) {
	repo, _, b := setup(t)
	// Flip a byte in the middle of the pack holding a part file's data.
	var pack repository.ID
	err := repo.Walk(context.Background(), b.Tree, func(path string, n *repository.Node) error {
		if strings.HasSuffix(path, "/primary.bin") && len(n.Blobs) > 0 {
			loc, _ := repo.Index().Lookup(n.Blobs[0])
			pack = loc.Pack
			return errors.New("found")
		}
		return nil
	})
	if pack == (repository.ID{}) {
		t.Fatalf("no part file found: %v", err)
	}
	name := filepath.Join(repo.Location()[len("file://"):], "data", pack.String()[:2], pack.String())
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/2] ^= 0xff
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "target")
	_, err = restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}})
	if !errors.Is(err, repository.ErrIntegrity) {
		t.Fatalf("restore from damaged packs: %v, want ErrIntegrity", err)
	}
	for _, want := range []string{b.ID.Short(), "file ", "blob "} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(target)); len(ents) != 0 {
		t.Errorf("a refused restore left %v", ents)
	}
}
