package restore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/progress/progresstest"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

const (
	lackSeg  = "seg-20261120"
	lackPart = "00000000000000ff" // listed by shard-0's .snp, not in the backup
)

// lackingBackup backs up a fixture root whose bk_measure seg-20261120
// shard-0 .snp (epoch 0x20) lists a part it does not hold, as a live
// backup's snapshot lists a part in the node's memory, and records that
// part as lacking in the manifest, as a live backup does.
func lackingBackup(t *testing.T) (*repository.Repository, repository.Backup, string) {
	t.Helper()
	root := filepath.Join(fixture.ForTest(t, fixture.V011), "data")
	shard := filepath.Join(root, "measure", "data", "bk_measure", lackSeg, "shard-0")
	replaceSnp(t, shard, 0x20, "0000000000000001", lackPart)
	repo, b := backupRoot(t, root)
	b.LackingParts = []repository.LackingParts{{Catalog: "measure", Group: "bk_measure", Segment: lackSeg, Shard: 0, Parts: []string{lackPart}}}
	return repo, b, root
}

// snpOf returns the names of a shard's .snp files and what the newest lists.
func snpOf(t *testing.T, shard string) ([]string, []string) {
	t.Helper()
	ents, err := os.ReadDir(shard)
	if err != nil {
		t.Fatal(err)
	}
	var snps []string
	for _, e := range ents {
		if _, ok := banyandb.SnpEpoch(e.Name()); ok {
			snps = append(snps, e.Name())
		}
	}
	if len(snps) == 0 {
		return nil, nil
	}
	data, err := os.ReadFile(filepath.Join(shard, snps[len(snps)-1]))
	if err != nil {
		t.Fatal(err)
	}
	listed, err := banyandb.ParseSnp(data)
	if err != nil {
		t.Fatal(err)
	}
	return snps, listed
}

// wantLackingReport checks the result names exactly lackPart of bk_measure.
func wantLackingReport(t *testing.T, res *restore.Result) {
	t.Helper()
	want := []restore.LackingGroup{{Catalog: banyandb.Measure, Group: "bk_measure", Count: 1, Parts: []string{lackSeg + "/shard-0/" + lackPart}}}
	if !slices.EqualFunc(res.Lacking, want, func(a, b restore.LackingGroup) bool {
		return a.Catalog == b.Catalog && a.Group == b.Group && a.Count == b.Count && slices.Equal(a.Parts, b.Parts)
	}) {
		t.Errorf("result lacking %+v, want %+v", res.Lacking, want)
	}
}

// TestRestoreOfABackupLackingParts: the shard whose .snp lists a part the
// backup lacks gets a new .snp one epoch higher listing the others; every
// other file is restored as it is; check is clean and the result names
// the lacking part.
func TestRestoreOfABackupLackingParts(t *testing.T) {
	repo, b, root := lackingBackup(t)
	target := filepath.Join(t.TempDir(), "target")
	res, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if res.Check.Errors() != 0 || res.SnpWritten != 1 {
		t.Errorf("%d new .snp, check %v; want 1, clean", res.SnpWritten, res.Check.Issues)
	}
	wantLackingReport(t, res)
	rel := filepath.Join("measure", "data", "bk_measure", lackSeg, "shard-0")
	snps, listed := snpOf(t, filepath.Join(target, rel))
	if !slices.Equal(snps, []string{"0000000000000021.snp"}) || !slices.Equal(listed, []string{"0000000000000001"}) {
		t.Errorf("restored shard: .snp %v listing %v; want only 0000000000000021.snp listing the part it holds", snps, listed)
	}
	// Everything else is the backup's, byte for byte.
	scan := func(root string) []string {
		l, err := banyandb.Scan(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range l.Files {
			out = append(out, filepath.Join(string(f.Catalog), "data", filepath.FromSlash(f.Path)))
		}
		slices.Sort(out)
		return out
	}
	src, dst := scan(root), scan(target)
	old, replaced := filepath.Join(rel, "0000000000000020.snp"), filepath.Join(rel, "0000000000000021.snp")
	if !slices.Contains(src, old) || !slices.Contains(dst, replaced) || slices.Contains(dst, old) {
		t.Fatalf("%s: %s not replaced by %s", rel, old, replaced)
	}
	src[slices.Index(src, old)] = replaced
	slices.Sort(src)
	if !slices.Equal(src, dst) {
		t.Fatalf("restored %d files, want the backup's %d with %s for %s", len(dst), len(src), replaced, old)
	}
	for _, f := range src {
		if f == replaced {
			continue
		}
		a, _ := os.ReadFile(filepath.Join(root, f))
		b, _ := os.ReadFile(filepath.Join(target, f))
		if string(a) != string(b) {
			t.Errorf("%s: restored bytes differ", f)
		}
	}
}

// TestRestoreOfAnOlderLiveBackupLackingParts: a live backup whose manifest
// predates lacking_parts gets the same restore as one that records them:
// the parts its shards' newest .snp list and it has no directory for are
// the ones its snapshot lacked. An offline backup's listed-but-absent
// part stays listed, and check reports it lost.
func TestRestoreOfAnOlderLiveBackupLackingParts(t *testing.T) {
	repo, b, _ := lackingBackup(t)
	b.LackingParts = nil
	live := *b.Manifest
	live.Source.Type = "node"
	b.Manifest = &live
	target := filepath.Join(t.TempDir(), "target")
	res, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if res.Check.Errors() != 0 || res.SnpWritten != 1 {
		t.Errorf("%d new .snp, check %v; want 1, clean", res.SnpWritten, res.Check.Issues)
	}
	wantLackingReport(t, res)
	if _, listed := snpOf(t, filepath.Join(target, "measure", "data", "bk_measure", lackSeg, "shard-0")); !slices.Equal(listed, []string{"0000000000000001"}) {
		t.Errorf("restored .snp lists %v, want the part the backup holds", listed)
	}

	offline := *b.Manifest
	offline.Source.Type = "root"
	b.Manifest = &offline
	target = filepath.Join(t.TempDir(), "target")
	res, err = restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if res.Check.Errors() != 1 || res.SnpWritten != 0 || len(res.Lacking) != 0 {
		t.Errorf("offline backup: %d new .snp, lacking %v, check %v; want none, none and one error", res.SnpWritten, res.Lacking, res.Check.Issues)
	}
}

// TestRestoreKeepsListingWhatTheBackupHad: only the parts the manifest
// records as lacking leave the shard's .snp. A listed part the restore does
// not bring and the manifest does not record stays listed, and check
// reports it lost.
func TestRestoreKeepsListingWhatTheBackupHad(t *testing.T) {
	repo, b, _ := lackingBackup(t)
	b.LackingParts[0].Parts = []string{"00000000000000fe"} // not lackPart
	target := filepath.Join(t.TempDir(), "target")
	res, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if res.Check.Errors() != 1 || !strings.Contains(res.Check.Issues[0].Message, lackPart) {
		t.Errorf("check %v: want one error naming %s, listed and not restored", res.Check.Issues, lackPart)
	}
	_, listed := snpOf(t, filepath.Join(target, "measure", "data", "bk_measure", lackSeg, "shard-0"))
	if !slices.Equal(listed, []string{"0000000000000001", lackPart}) {
		t.Errorf("restored .snp lists %v, want the backup's list", listed)
	}
}

// TestInterruptedRestoreOfABackupLackingPartsIsResumed: the new .snp is
// written again by the rerun, which completes the restore.
func TestInterruptedRestoreOfABackupLackingPartsIsResumed(t *testing.T) {
	repo, b, _ := lackingBackup(t)
	target := filepath.Join(t.TempDir(), "target")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := restore.Run(ctx, repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Workers: 1,
		Progress: &progresstest.CancelAfter{N: 40, Cancel: cancel}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled restore returned %v", err)
	}
	res, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	if res.FilesResumed == 0 || res.Check.Errors() != 0 {
		t.Errorf("rerun: %d files resumed, check %v", res.FilesResumed, res.Check.Issues)
	}
	wantLackingReport(t, res)
	snps, listed := snpOf(t, filepath.Join(target, "measure", "data", "bk_measure", lackSeg, "shard-0"))
	if !slices.Equal(snps, []string{"0000000000000021.snp"}) || !slices.Equal(listed, []string{"0000000000000001"}) {
		t.Errorf("resumed shard: .snp %v listing %v", snps, listed)
	}
}

// TestPartialRestoresOfABackupLackingParts: a part restore writes the
// shard's .snp from the parts it keeps, never the lacking one; a merge
// that skips the segment reports nothing lacking.
func TestPartialRestoresOfABackupLackingParts(t *testing.T) {
	repo, b, _ := lackingBackup(t)
	target := filepath.Join(t.TempDir(), "target")
	sel := restore.Selection{Catalogs: []banyandb.Catalog{banyandb.Measure}, Groups: []string{"bk_measure"},
		From: utc("2026-11-20T00:00:00Z"), To: utc("2026-11-20T23:59:59Z"), Granularity: restore.ByPart}
	res, err := restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC, Selection: sel})
	if err != nil {
		t.Fatal(err)
	}
	if res.Check.Errors() != 0 {
		t.Errorf("check %v", res.Check.Issues)
	}
	wantLackingReport(t, res)
	if _, listed := snpOf(t, filepath.Join(target, "measure", "data", "bk_measure", lackSeg, "shard-0")); !slices.Equal(listed, []string{"0000000000000001"}) {
		t.Errorf("part restore: .snp lists %v", listed)
	}

	// The segment is there: a merge skips it, and so has nothing lacking.
	sel = restore.Selection{Catalogs: []banyandb.Catalog{banyandb.Measure}, Groups: []string{"bk_measure"}}
	res, err = restore.Run(context.Background(), repo, b, restore.Options{Roots: banyandb.Roots{Root: target}, Location: time.UTC,
		Selection: sel, Existing: restore.Merge})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Lacking) != 0 || res.Check.Errors() != 0 {
		t.Errorf("merge: lacking %+v, check %v; want nothing lacking, clean", res.Lacking, res.Check.Issues)
	}
}
