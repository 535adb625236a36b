package deploy

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// imageLabel is the Dockerfile's label naming the image, which
// scripts/image.sh tags and the Kubernetes manifests run.
var imageLabel = regexp.MustCompile(`io\.github\.banyan-backup\.image="([^"]+)"`)

// imageName is the image's repository, from the Dockerfile.
func imageName(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	m := imageLabel.FindSubmatch(data)
	if m == nil {
		t.Fatal("the Dockerfile has no io.github.banyan-backup.image label")
	}
	return string(m[1])
}

// The Dockerfile builds with scripts/build.sh and runs the binary on an
// empty base as 65532, with nothing in the final stage to pin but scratch
// (or a base pinned by digest).
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var froms, users, entry []string
	var buildRun bool
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "FROM":
			froms = append(froms, f[1])
		case "USER":
			users = append(users, f[1])
		case "ENTRYPOINT":
			entry = f[1:]
		case "RUN":
			buildRun = buildRun || strings.Contains(l, "scripts/build.sh /out/usr/local/bin/banyan-backup")
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got FROM %v", froms)
	}
	if final := froms[len(froms)-1]; final != "scratch" && !strings.Contains(final, "@sha256:") {
		t.Errorf("the final stage is %s: want scratch or an image pinned by digest", final)
	}
	if len(users) == 0 || users[len(users)-1] != "65532:65532" {
		t.Errorf("USER %v, want 65532:65532 last", users)
	}
	if strings.Join(entry, " ") != `["/usr/local/bin/banyan-backup"]` {
		t.Errorf("ENTRYPOINT %v", entry)
	}
	if !buildRun {
		t.Error("no RUN line builds with scripts/build.sh")
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "build.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "-X main.commit=", "-X main.date="} {
		if !bytes.Contains(script, []byte(want)) {
			t.Errorf("scripts/build.sh lacks %s", want)
		}
	}
	if imageName(t) == "" {
		t.Error("empty image name")
	}
}

// What the image's build stage makes, run here on the same build context
// without a container engine: a static executable, built without the
// source paths, that reports the stamp it was given.
func TestImageBuildStage(t *testing.T) {
	f, err := elf.Open(binary)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has a program interpreter: it is not static (CGO_ENABLED=0)")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Errorf("the binary links %v", libs)
	}
	data, err := os.ReadFile(binary)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(buildCtx)) {
		t.Errorf("the binary holds the build directory %s: build with -trimpath", buildCtx)
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(runCLI(t, nil, "version", "--json")), &info); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"version": stampVersion, "commit": stampCommit, "date": stampDate} {
		if info[k] != want {
			t.Errorf("version --json: %s = %q, want %q", k, info[k], want)
		}
	}
}
