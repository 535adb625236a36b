// Package buildinfo says which build of banyan-backup is running: the
// version, commit and date stamped in with -ldflags by scripts/build.sh,
// or what the Go toolchain recorded in the binary (module version, VCS
// revision and time) when the build was not stamped.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Info is one build's identity.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
	// Modified is true when the VCS tree had uncommitted changes (only
	// known from the toolchain's record).
	Modified bool `json:"modified,omitempty"`
}

// Unknown fills a commit or date nothing could tell; DevVersion a version.
const (
	Unknown    = "unknown"
	DevVersion = "dev"
)

// Stamp is what -ldflags set; empty fields are filled from the binary's
// build record.
type Stamp struct {
	Version, Commit, Date string
}

// Get returns the build's Info: the stamped fields first, then the
// toolchain's record (debug.ReadBuildInfo), else DevVersion for the
// version and Unknown for the others.
func Get(s Stamp) Info {
	bi, _ := debug.ReadBuildInfo()
	return fromRecord(s, bi)
}

// fromRecord merges a stamp and a build record (nil: none).
func fromRecord(s Stamp, bi *debug.BuildInfo) Info {
	info := Info{Version: s.Version, Commit: s.Commit, Date: s.Date, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version // go install module@version
		}
		for _, st := range bi.Settings {
			switch st.Key {
			case "vcs.revision":
				if info.Commit == "" {
					info.Commit = st.Value
				}
			case "vcs.time":
				if info.Date == "" {
					info.Date = st.Value
				}
			case "vcs.modified":
				info.Modified = st.Value == "true"
			}
		}
	}
	if info.Version == "" {
		info.Version = DevVersion
	}
	for _, f := range []*string{&info.Commit, &info.Date} {
		if *f == "" {
			*f = Unknown
		}
	}
	return info
}

// ShortCommit is the commit's first 12 hex digits (or the whole of a
// shorter value).
func (i Info) ShortCommit() string {
	if len(i.Commit) > 12 {
		return i.Commit[:12]
	}
	return i.Commit
}
