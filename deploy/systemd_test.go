package deploy

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// installedBinary is where the units expect banyan-backup.
const installedBinary = "/usr/local/bin/banyan-backup"

// unit is a parsed systemd unit file: each section's keys with their
// values, in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unit{}
	var section string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			u[section] = map[string][]string{}
		case section == "":
			t.Fatalf("%s:%d: %q before any section", path, n, l)
		case strings.HasSuffix(l, `\`):
			t.Fatalf("%s:%d: continuation lines are not parsed by this test", path, n)
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok {
				t.Fatalf("%s:%d: %q is not KEY=VALUE", path, n, l)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) get(section, key string) []string { return u[section][key] }

// The units' commands exist with every flag they pass; the data root they
// back up is read-only to them but for its snapshot directories, which
// they must delete; serve's token file is the credential systemd loads;
// the example config passes serve --check and names the same root.
func TestSystemdUnits(t *testing.T) {
	const root = "/var/lib/banyandb"
	serve := parseUnit(t, filepath.Join("systemd", "banyan-backup-serve.service"))
	oneshot := parseUnit(t, filepath.Join("systemd", "banyan-backup.service"))
	timer := parseUnit(t, filepath.Join("systemd", "banyan-backup.timer"))

	for name, u := range map[string]unit{"banyan-backup-serve.service": serve, "banyan-backup.service": oneshot} {
		if got := u.get("Service", "ProtectSystem"); !slices.Equal(got, []string{"strict"}) {
			t.Errorf("%s: ProtectSystem=%v, want strict", name, got)
		}
		if !slices.Contains(strings.Fields(strings.Join(u.get("Service", "ReadOnlyPaths"), " ")), root) {
			t.Errorf("%s: %s is not in ReadOnlyPaths", name, root)
		}
		rw := strings.Fields(strings.Join(u.get("Service", "ReadWritePaths"), " "))
		for _, c := range []string{"measure", "stream", "trace", "property", "schema-property"} {
			if !slices.Contains(rw, "-"+filepath.Join(root, c, "snapshots")) {
				t.Errorf("%s: ReadWritePaths lacks -%s/%s/snapshots: the node's snapshots could not be deleted", name, root, c)
			}
		}
		if u.get("Service", "User") == nil || u.get("Service", "User")[0] == "root" {
			t.Errorf("%s: runs as root", name)
		}
		for i, line := range u.get("Service", "ExecStart") {
			argv := strings.Fields(strings.TrimLeft(line, "-@+!:"))
			if len(argv) == 0 || argv[0] != installedBinary {
				t.Errorf("%s: ExecStart %q does not run %s", name, line, installedBinary)
				continue
			}
			inv := parseInvocation(t, name+" ExecStart "+strconv.Itoa(i+1), argv[1:])
			switch inv.sub {
			case "backup":
				if inv.flags["--root"] != root {
					t.Errorf("%s: backup --root %q, want %s", name, inv.flags["--root"], root)
				}
			case "serve":
				if tf, ok := inv.flags["--token-file"]; ok {
					cred, _, _ := strings.Cut(strings.Join(u.get("Service", "LoadCredential"), " "), ":")
					if tf != "%d/"+cred {
						t.Errorf("%s: --token-file %q is not the loaded credential %q (%%d/%s)", name, tf, cred, cred)
					}
				}
				if inv.flags["--config"] != "/etc/banyan-backup/serve.yaml" {
					t.Errorf("%s: serve --config %q", name, inv.flags["--config"])
				}
			}
		}
	}
	if timer.get("Timer", "OnCalendar") == nil || timer.get("Timer", "Unit") != nil {
		t.Errorf("banyan-backup.timer: want OnCalendar and the default unit (banyan-backup.service)")
	}
	if !slices.Equal(oneshot.get("Service", "Type"), []string{"oneshot"}) {
		t.Errorf("banyan-backup.service: Type=%v, want oneshot", oneshot.get("Service", "Type"))
	}
	example, err := os.ReadFile(filepath.Join("systemd", "serve.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if job := checkServeConfig(t, string(example)); job.root != root {
		t.Errorf("serve.example.yaml backs up %s, the units protect %s", job.root, root)
	}
}

var exposure = regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`)

// systemd-analyze verify finds nothing to say about the units (with the
// binary at the path they name), and their exposure, as
// systemd-analyze security rates it, stays at 2.0 or below ("OK"). Where
// systemd-analyze is missing, TestSystemdUnits' parse is the only check.
func TestSystemdAnalyze(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found: the units are checked by TestSystemdUnits' own parse only")
	}
	dir := t.TempDir()
	units := []string{"banyan-backup-serve.service", "banyan-backup.service", "banyan-backup.timer"}
	var paths []string
	for _, name := range units {
		data, err := os.ReadFile(filepath.Join("systemd", name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.ReplaceAll(string(data), installedBinary, binary)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	out, err := exec.Command(sa, append([]string{"verify", "--man=no"}, paths...)...).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	for _, p := range paths[:2] {
		out, err := exec.Command(sa, "security", "--offline=true", "--no-pager", p).CombinedOutput()
		m := exposure.FindSubmatch(out)
		if err != nil || m == nil {
			t.Errorf("systemd-analyze security %s: %v\n%s", filepath.Base(p), err, out)
			continue
		}
		level, _ := strconv.ParseFloat(string(m[1]), 64)
		t.Logf("%s: exposure %.1f", filepath.Base(p), level)
		if level > 2.0 {
			t.Errorf("%s: exposure %.1f, want at most 2.0\n%s", filepath.Base(p), level, out)
		}
	}
}
