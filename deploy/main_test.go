package deploy

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// The binaries every test uses, built once by TestMain: banyan-backup by
// scripts/build.sh from a copy of the container image's build context (the
// files .dockerignore leaves), stamped as scripts/image.sh stamps it, and
// the node simulator.
var (
	repoRoot string // the main module's directory
	binary   string // banyan-backup
	simBin   string // banyand-sim
	buildCtx string // the build context copy
)

// The stamp TestMain builds with.
const (
	stampVersion = "v0.0.0-deploytest"
	stampCommit  = "0123456789abcdef0123456789abcdef01234567"
	stampDate    = "2026-12-01T00:00:00Z"
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	wd, err := os.Getwd()
	if err != nil {
		return 0, err
	}
	repoRoot = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "bb-deploy-test")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	buildCtx = filepath.Join(tmp, "context")
	if err := copyBuildContext(repoRoot, buildCtx); err != nil {
		return 0, err
	}
	binary = filepath.Join(tmp, "banyan-backup")
	build := exec.Command("scripts/build.sh", binary)
	build.Dir = buildCtx
	build.Env = append(os.Environ(), "VERSION="+stampVersion, "COMMIT="+stampCommit, "BUILD_DATE="+stampDate)
	if out, err := build.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("scripts/build.sh in the image's build context: %v\n%s", err, out)
	}
	simBin = filepath.Join(tmp, "banyand-sim")
	sim := exec.Command("go", "build", "-o", simBin, "./cmd/banyand-sim")
	sim.Dir = repoRoot
	if out, err := sim.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("cannot build banyand-sim: %v\n%s", err, out)
	}
	return m.Run(), nil
}

// copyBuildContext copies the files of the repository that git knows
// (tracked, or new and not ignored) and that .dockerignore does not leave
// out of the image's build context.
func copyBuildContext(root, dst string) error {
	ignore, err := readDockerignore(filepath.Join(root, ".dockerignore"))
	if err != nil {
		return err
	}
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		return fmt.Errorf("git ls-files: %w", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if name == "" || ignored(ignore, name) {
			continue
		}
		src := filepath.Join(root, name)
		info, err := os.Lstat(src)
		if err != nil {
			if os.IsNotExist(err) { // deleted but not committed
				continue
			}
			return err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, name)
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(to, data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func readDockerignore(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var pats []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			return nil, fmt.Errorf("%s: exceptions (%s) are not supported by this test", path, l)
		}
		pats = append(pats, l)
	}
	return pats, sc.Err()
}

// ignored applies .dockerignore's patterns as the image builders do for
// the forms used there: a path or its parent directory matching a pattern,
// and **/ matching any number of directories.
func ignored(pats []string, name string) bool {
	for _, p := range pats {
		if rest, ok := strings.CutPrefix(p, "**/"); ok {
			if m, _ := filepath.Match(rest, filepath.Base(name)); m {
				return true
			}
			continue
		}
		for dir := name; dir != "." && dir != "/"; dir = filepath.Dir(dir) {
			if m, _ := filepath.Match(p, dir); m {
				return true
			}
		}
	}
	return false
}

// cliFlag is one flag of a banyan-backup command, as its --help lists it.
type cliFlag struct {
	takesValue bool
}

var (
	helpMu    sync.Mutex
	helpCache = map[string]map[string]cliFlag{}
	flagLine  = regexp.MustCompile(`^\s+(?:-\w, )?--([a-z0-9][a-z0-9-]*)(?: (\w+))?\s`)
)

// flagsOf returns the flags `banyan-backup SUB --help` lists (its own and
// the global ones).
func flagsOf(t *testing.T, sub string) map[string]cliFlag {
	t.Helper()
	helpMu.Lock()
	defer helpMu.Unlock()
	if f, ok := helpCache[sub]; ok {
		return f
	}
	out, err := exec.Command(binary, sub, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("banyan-backup %s --help: %v\n%s", sub, err, out)
	}
	flags := map[string]cliFlag{}
	for _, l := range strings.Split(string(out), "\n") {
		if m := flagLine.FindStringSubmatch(l); m != nil {
			flags[m[1]] = cliFlag{takesValue: m[2] != ""}
		}
	}
	if len(flags) < 5 {
		t.Fatalf("banyan-backup %s --help lists %d flags:\n%s", sub, len(flags), out)
	}
	helpCache[sub] = flags
	return flags
}

// invocation is one banyan-backup command line of a deployment file.
type invocation struct {
	where string
	sub   string
	flags map[string]string // "--name" -> value ("" for a boolean)
	args  []string          // positional arguments after the command
}

// parseInvocation reads a command line (without the binary), checking that
// the command and every flag exist.
func parseInvocation(t *testing.T, where string, argv []string) invocation {
	t.Helper()
	inv := invocation{where: where, flags: map[string]string{}}
	if len(argv) == 0 || strings.HasPrefix(argv[0], "-") {
		t.Fatalf("%s: no command in %q", where, argv)
	}
	inv.sub = argv[0]
	known := flagsOf(t, inv.sub)
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if !strings.HasPrefix(a, "--") {
			inv.args = append(inv.args, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		f, ok := known[name]
		if !ok {
			t.Errorf("%s: banyan-backup %s has no flag --%s", where, inv.sub, name)
			continue
		}
		if f.takesValue && !hasValue {
			if i+1 >= len(argv) {
				t.Errorf("%s: --%s needs a value", where, name)
				continue
			}
			value = argv[i+1]
			i++
		}
		inv.flags["--"+name] = value
	}
	return inv
}

// runCLI runs banyan-backup and returns its stdout, failing the test on a
// non-zero exit.
func runCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	if err := cmd.Run(); err != nil {
		t.Fatalf("banyan-backup %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, so.String(), se.String())
	}
	return so.String()
}
