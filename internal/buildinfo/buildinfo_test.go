package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestStampWins(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.9.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "aaaa"}, {Key: "vcs.time", Value: "2026-01-01T00:00:00Z"}}}
	got := fromRecord(Stamp{Version: "v1.2.3", Commit: "0123456789abcdef0123", Date: "2026-12-01T10:00:00Z"}, bi)
	want := Info{Version: "v1.2.3", Commit: "0123456789abcdef0123", Date: "2026-12-01T10:00:00Z", GoVersion: "go1.26.8",
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if got.ShortCommit() != "0123456789ab" {
		t.Errorf("short commit %q", got.ShortCommit())
	}
}

func TestFallbackToBuildRecord(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.9.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "bbbb"}, {Key: "vcs.time", Value: "2026-01-01T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := fromRecord(Stamp{}, bi)
	if got.Version != "v0.9.0" || got.Commit != "bbbb" || got.Date != "2026-01-01T00:00:00Z" || !got.Modified {
		t.Fatalf("got %+v", got)
	}
}

func TestNothingKnown(t *testing.T) {
	// A plain `go build` in a checkout: the main module is "(devel)" and,
	// with -buildvcs=false, no VCS settings.
	got := fromRecord(Stamp{}, &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}})
	if got.Version != DevVersion || got.Commit != Unknown || got.Date != Unknown || got.GoVersion != "go1.26.8" {
		t.Fatalf("got %+v", got)
	}
	if got := fromRecord(Stamp{}, nil); got.GoVersion != runtime.Version() {
		t.Fatalf("without a record: %+v", got)
	}
}
