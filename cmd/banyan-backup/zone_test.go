package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/fixture"
)

// runTZ runs the CLI as run does, on a machine whose local zone is tz.
func runTZ(t *testing.T, tz string, args ...string) result {
	t.Helper()
	so, se, code := runEnv(t, []string{"TZ=" + tz}, args...)
	return result{so, se, code}
}

type zoneBackupOut struct {
	ID         string `json:"id"`
	ServerZone *struct {
		Name   string `json:"name"`
		Source string `json:"source"`
	} `json:"server_zone"`
	Segments []struct {
		Catalog string    `json:"catalog"`
		Name    string    `json:"name"`
		Start   time.Time `json:"start"`
	} `json:"segments"`
}

// start returns the recorded start of measure segment name.
func (b zoneBackupOut) start(t *testing.T, name string) time.Time {
	t.Helper()
	for _, s := range b.Segments {
		if s.Catalog == "measure" && s.Name == name {
			return s.Start
		}
	}
	t.Fatalf("backup records no measure segment %s", name)
	return time.Time{}
}

func zoneBackup(t *testing.T, tz, repo, root string, extra ...string) zoneBackupOut {
	t.Helper()
	r := runTZ(t, tz, append([]string{"backup", "--repo", repo, "--root", root, "--json"}, extra...)...)
	if r.code != 0 {
		t.Fatalf("backup (TZ=%s, %v): exit %d\n%s", tz, extra, r.code, r.stderr)
	}
	var out zoneBackupOut
	decode(t, r.stdout, &out)
	if out.ServerZone == nil {
		t.Fatalf("backup --json has no server_zone: %s", r.stdout)
	}
	return out
}

// The fixtures' server ran in UTC (seg-20261122's metadata records the end
// 2026-11-23T00:00:00Z). A backup run on a machine in Asia/Shanghai learns
// that from the data, and refuses --time-zone Asia/Shanghai naming the
// segment, its end and the offset it implies; so does check.
func TestBackupLearnsTheServersZoneFromTheFixture(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)

	out := zoneBackup(t, "Asia/Shanghai", repo, root)
	if out.ServerZone.Name != "UTC" || out.ServerZone.Source != "learned" {
		t.Errorf("server_zone %+v, want UTC, learned", *out.ServerZone)
	}
	if got := out.start(t, "seg-20261122"); !got.Equal(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("seg-20261122 recorded as starting %v, want 2026-11-22T00:00:00Z", got)
	}
	r := runTZ(t, "Asia/Shanghai", "backup", "--repo", repo, "--root", root)
	if r.code != 0 || !strings.Contains(r.stdout, "segment names read in UTC (learned from the ends recorded in 15 segments' metadata)") {
		t.Errorf("backup: exit %d, stdout %q; want it to say the zone was learned", r.code, r.stdout)
	}

	for _, args := range [][]string{
		{"backup", "--repo", repo, "--root", root, "--time-zone", "Asia/Shanghai"},
		{"check", root, "--time-zone", "Asia/Shanghai"},
	} {
		r := runTZ(t, "UTC", args...)
		if r.code != 2 {
			t.Errorf("%s --time-zone Asia/Shanghai: exit %d, want 2\n%s", args[0], r.code, r.stderr)
		}
		for _, want := range []string{"seg-20261119", "2026-11-20T00:00:00Z", "implies the offset UTC+00:00", "--time-zone"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s: stderr %q does not say %q", args[0], r.stderr, want)
			}
		}
	}
	if r := runTZ(t, "Asia/Shanghai", "check", root); r.code != 0 {
		t.Errorf("check without --time-zone: exit %d\n%s", r.code, r.stderr)
	}
}

// The same root as a server at +08:00 writes it: a backup learns
// UTC+08:00 and records it, refuses --time-zone UTC and takes
// Asia/Shanghai; a restore reads --from/--to dates in the recorded zone
// whatever the local one, and refuses a --time-zone the backup's segments
// contradict.
func TestBackupAndRestoreOfARootWrittenInAnotherZone(t *testing.T) {
	root := fixtureRoot(t, fixture.V011)
	fixture.ShiftZone(t, root, 8*time.Hour)
	repo := filepath.Join(t.TempDir(), "repo")
	mustRun(t, "init", "--repo", repo)

	out := zoneBackup(t, "UTC", repo, root)
	if out.ServerZone.Name != "UTC+08:00" || out.ServerZone.Source != "learned" {
		t.Errorf("server_zone %+v, want UTC+08:00, learned", *out.ServerZone)
	}
	if got := out.start(t, "seg-20261122"); !got.Equal(time.Date(2026, 11, 21, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("seg-20261122 recorded as starting %v, want 2026-11-21T16:00:00Z", got)
	}
	if r := runTZ(t, "UTC", "backup", "--repo", repo, "--root", root, "--time-zone", "UTC"); r.code != 2 || !strings.Contains(r.stderr, "implies the offset UTC+08:00") {
		t.Errorf("backup --time-zone UTC: exit %d, stderr %q; want 2 naming UTC+08:00", r.code, r.stderr)
	}
	given := zoneBackup(t, "UTC", repo, root, "--time-zone", "Asia/Shanghai")
	if given.ServerZone.Name != "Asia/Shanghai" || given.ServerZone.Source != "given" {
		t.Errorf("server_zone %+v, want Asia/Shanghai, given", *given.ServerZone)
	}

	// 2026-11-22 in the server's zone is seg-20261122 alone; read in UTC it
	// would meet seg-20261123 too.
	var plan struct {
		ServerZone struct{ Name, Source string } `json:"server_zone"`
		Units      []struct {
			Path    string `json:"path"`
			Segment bool   `json:"segment"`
		} `json:"units"`
	}
	restoreArgs := []string{"restore", out.ID, "--repo", repo, "--target", filepath.Join(t.TempDir(), "t"), "--dry-run", "--json",
		"--catalog", "measure", "--group", "bk_measure", "--from", "2026-11-22", "--to", "2026-11-22"}
	r := runTZ(t, "UTC", restoreArgs...)
	if r.code != 0 {
		t.Fatalf("restore --dry-run: exit %d\n%s", r.code, r.stderr)
	}
	decode(t, r.stdout, &plan)
	var segs []string
	for _, u := range plan.Units {
		if u.Segment {
			segs = append(segs, u.Path)
		}
	}
	if strings.Join(segs, ",") != "bk_measure/seg-20261122" || plan.ServerZone.Name != "UTC+08:00" || plan.ServerZone.Source != "recorded" {
		t.Errorf("restore of 2026-11-22 selects %v in %+v; want seg-20261122 alone, in the recorded UTC+08:00", segs, plan.ServerZone)
	}
	if r := runTZ(t, "UTC", append(restoreArgs, "--time-zone", "UTC")...); r.code != 2 || !strings.Contains(r.stderr, "implies the offset UTC+08:00") {
		t.Errorf("restore --time-zone UTC: exit %d, stderr %q; want 2 naming UTC+08:00", r.code, r.stderr)
	}
}
