package compat_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/backup"
	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/compat"
	"github.com/banyan-backup/banyan-backup/internal/fixture"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/storage/local"
)

// backupOf backs up the data root of fixture name into a new repository and
// returns the data root and the backup's manifest, read back from the
// repository.
func backupOf(t *testing.T, name string) (string, *repository.Manifest) {
	t.Helper()
	ctx := context.Background()
	root := filepath.Join(fixture.ForTest(t, name), "data")
	repo, err := repository.Init(ctx, local.New(filepath.Join(t.TempDir(), "repo")), repository.InitOptions{}, repository.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	res, err := backup.Run(ctx, repo, backup.Options{Roots: banyandb.Roots{Root: root}, Location: timeUTC(), ToolVersion: "test"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := repo.LoadManifest(ctx, res.ID)
	if err != nil {
		t.Fatal(err)
	}
	if v := repo.Config().Version; m.RepositoryFormat != v {
		t.Errorf("manifest records repository format %d, want the repository's %d", m.RepositoryFormat, v)
	}
	return root, m
}

func decisions(t *testing.T, m *repository.Manifest, target string) map[banyandb.Catalog]compat.Decision {
	t.Helper()
	tg, err := compat.ParseTarget(target)
	if err != nil {
		t.Fatal(err)
	}
	out := map[banyandb.Catalog]compat.Decision{}
	for _, d := range compat.Decide(compat.FromManifest(m), tg, compat.Options{}) {
		out[d.Catalog] = d
	}
	if len(out) != len(banyandb.AllCatalogs()) {
		t.Fatalf("decisions for %d catalogs, want all %d: %v", len(out), len(banyandb.AllCatalogs()), out)
	}
	return out
}

func TestFixture0102(t *testing.T) {
	root, m := backupOf(t, fixture.V0102)
	in := compat.FromManifest(m)
	for _, c := range []banyandb.Catalog{banyandb.Measure, banyandb.Stream, banyandb.Trace} {
		if got := strings.Join(in.SegmentVersions[c], ","); got != "1.4.0" {
			t.Errorf("%s segment formats %q, want 1.4.0", c, got)
		}
	}
	for c, d := range decisions(t, m, "0.11") {
		if c == banyandb.Trace {
			if d.Allowed || !d.Overridable || !strings.Contains(d.Reason, "blockMetadata") || !strings.Contains(d.Reason, "0.11") {
				t.Errorf("0.10.2 trace into 0.11: %+v; want refused, overridable, with the blockMetadata reason", d)
			}
			continue
		}
		if !d.Allowed {
			t.Errorf("0.10.2 %s into 0.11 refused: %s", c, d.Reason)
		}
	}
	for _, target := range []string{"0.10", "0.10.2", "v0.10.2", "0.10.3"} {
		for c, d := range decisions(t, m, target) {
			if !d.Allowed {
				t.Errorf("0.10.2 %s into %s refused: %s", c, target, d.Reason)
			}
		}
	}
	// The fixture's own root as a target reads as 0.10.0–0.10.2.
	tg, ok, err := compat.TargetFromRoot(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: timeUTC()})
	if err != nil || !ok || strings.Join(tg.Releases(), ",") != "0.10.0–0.10.2" {
		t.Errorf("TargetFromRoot(0.10.2 root) = %v %v %v", tg.Releases(), ok, err)
	}
}

// TestFixture011Into0103: 0.10.3 opens the 0.11 fixture's segment format
// but not its schemas (docs/banyandb.md, Versions), and nothing in the backup
// tells 0.11 data from 0.10.3 data: the restore is refused, the schema's
// reason names the field 0.10.3 stops on, and the hint names 0.11.
func TestFixture011Into0103(t *testing.T) {
	_, m := backupOf(t, fixture.V011)
	in := compat.FromManifest(m)
	if got := strings.Join(in.SegmentVersions[banyandb.Measure], ","); got != "1.5.0" {
		t.Fatalf("measure segment formats %q, want 1.5.0", got)
	}
	ds := decisions(t, m, "0.10.3")
	for c, d := range ds {
		if d.Allowed || !strings.Contains(d.Hint, "restore into BanyanDB 0.11 or newer") || strings.Contains(d.Hint, "--target-version 0.10.3") {
			t.Errorf("0.11 %s into 0.10.3: %+v; want refused, pointing to 0.11", c, d)
		}
	}
	if r := ds[banyandb.SchemaProperty].Reason; !strings.Contains(r, `unknown field "createdAt"`) || !strings.Contains(r, "0.10.3") {
		t.Errorf("schema reason %q names neither createdAt nor 0.10.3", r)
	}
	list := make([]compat.Decision, 0, len(ds))
	for _, c := range banyandb.AllCatalogs() {
		list = append(list, ds[c])
	}
	tg, _ := compat.ParseTarget("0.10.3")
	if _, err := compat.Refusals(list, tg); !errors.Is(err, compat.ErrIncompatible) {
		t.Errorf("Refusals = %v, want the whole restore refused", err)
	}
}

func TestFixture011(t *testing.T) {
	root, m := backupOf(t, fixture.V011)
	for _, target := range []string{"0.10", "0.10.2"} {
		ds := decisions(t, m, target)
		for c, d := range ds {
			if d.Allowed || d.Reason == "" || d.Hint == "" {
				t.Errorf("0.11 %s into %s: %+v; want refused with reason and hint", c, target, d)
			}
		}
		if r := ds[banyandb.Measure].Reason; !strings.Contains(r, "1.5.0") || !strings.Contains(r, "0.10.0–0.10.2") {
			t.Errorf("measure reason %q names not both versions", r)
		}
		tg, _ := compat.ParseTarget(target)
		list := make([]compat.Decision, 0, len(ds))
		for _, d := range ds {
			list = append(list, d)
		}
		if err := compat.Err(list, tg); !errors.Is(err, compat.ErrIncompatible) {
			t.Errorf("Err = %v, want ErrIncompatible", err)
		}
	}
	for c, d := range decisions(t, m, "0.11") {
		if !d.Allowed {
			t.Errorf("0.11 %s into 0.11 refused: %s", c, d.Reason)
		}
	}
	tg, ok, err := compat.TargetFromRoot(context.Background(), banyandb.Roots{Root: root}, banyandb.ScanOptions{Location: timeUTC()})
	if err != nil || !ok || strings.Join(tg.Releases(), ",") != "0.10.3,0.11" {
		t.Errorf("TargetFromRoot(0.11 root) = %v %v %v", tg.Releases(), ok, err)
	}
	// An empty directory gives nothing to infer from.
	if _, ok, err := compat.TargetFromRoot(context.Background(), banyandb.Roots{Root: t.TempDir()}, banyandb.ScanOptions{}); ok || err != nil {
		t.Errorf("TargetFromRoot(empty) = %v %v, want not ok and no error", ok, err)
	}
}
