package main

import (
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// An unstamped build (go build, as TestMain does, with no VCS record)
// says so: version dev, commit and date unknown, and the Go version that
// built it. scripts/build.sh's stamp is checked by deploy/image_test.go.
func TestVersionUnstamped(t *testing.T) {
	var info map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, "version", "--json")), &info); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"version": "dev", "go_version": runtime.Version(), "platform": runtime.GOOS + "/" + runtime.GOARCH} {
		if info[k] != want {
			t.Errorf("%s = %v, want %s", k, info[k], want)
		}
	}
	for _, k := range []string{"commit", "date"} {
		if info[k] == "" || info[k] == nil {
			t.Errorf("%s is empty: want a value or \"unknown\"", k)
		}
	}
	text := mustRun(t, "version")
	if !strings.HasPrefix(text, "banyan-backup dev\n") || !strings.Contains(text, "go version: "+runtime.Version()) {
		t.Errorf("version printed:\n%s", text)
	}
	if r := run(t, "version", "extra"); r.code != 2 {
		t.Errorf("version with an argument: exit %d, want 2", r.code)
	}
}
