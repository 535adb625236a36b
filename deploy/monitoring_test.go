package deploy

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

var promQL = parser.NewParser(parser.Options{})

// metricNames returns the metric names an expression selects.
func metricNames(t *testing.T, where, expr string) []string {
	t.Helper()
	e, err := promQL.ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: %v\n%s", where, err, expr)
	}
	var names []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			names = append(names, vs.Name)
		}
		return nil
	})
	if len(names) == 0 {
		t.Errorf("%s: selects no metric: %s", where, expr)
	}
	return names
}

// ruleMetrics parses the alert rules with Prometheus's own rule parser
// (unknown fields fail, expressions and templates are checked) and returns
// the metrics they name, by rule.
func ruleMetrics(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("monitoring", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(data, false, model.UTF8Validation, promQL, nil)
	for _, err := range errs {
		t.Errorf("alerts.yaml: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	out := map[string][]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: a recording rule %q: the file holds alerts only", g.Name, r.Record)
				continue
			}
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: want a severity label and a summary", r.Alert)
			}
			out["alert "+r.Alert] = metricNames(t, r.Alert, r.Expr)
		}
	}
	return out
}

// grafanaVars are what the dashboard's variables stand for in a query.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$backup_job", ".*", "$instance", ".*")

// dashboardMetrics returns the metrics the dashboard's queries name (its
// panels' and its variables'), by panel.
func dashboardMetrics(t *testing.T) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("monitoring", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query string `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil || d.UID == "" || len(d.Panels) == 0 {
		t.Fatalf("grafana-dashboard.json: %v (uid %q, %d panels)", err, d.UID, len(d.Panels))
	}
	out := map[string][]string{}
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			out["panel "+p.Title] = append(out["panel "+p.Title], metricNames(t, p.Title, grafanaVars.Replace(tg.Expr))...)
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+), \w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Query)
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(SELECTOR, LABEL)", v.Name, v.Query)
		}
		out["variable "+v.Name] = metricNames(t, v.Name, grafanaVars.Replace(m[1]))
	}
	return out
}

// Every metric the alert rules and the dashboard name is exported by a
// running serve: one that has backed up a node (the simulator) and
// verified its repository, its first runs fired by its own schedules.
// The exported metrics follow Prometheus's naming: counters end in
// _total, durations, times and intervals are _seconds, sizes _bytes.
func TestMonitoringNamesLiveMetrics(t *testing.T) {
	want := ruleMetrics(t)
	for k, v := range dashboardMetrics(t) {
		want[k] = v
	}
	exported := liveMetrics(t)
	for where, names := range want {
		for _, n := range names {
			if !exported[n] {
				t.Errorf("%s names %s, which serve does not export", where, n)
			}
		}
	}
	checkNaming(t, exported)
}

// liveMetrics starts serve on a config that backs up a simulated node every
// 2 s and verifies the repository every 3 s, waits (up to 2 minutes) until
// both have run, and returns the metric names of a scrape of /metrics.
func liveMetrics(t *testing.T) map[string]bool {
	t.Helper()
	dir := t.TempDir()
	n := startNode(t, filepath.Join(dir, "root"))
	repo := filepath.Join(dir, "repo")
	runCLI(t, nil, "init", "--repo", repo)
	cfg := filepath.Join(dir, "serve.yaml")
	text := fmt.Sprintf(`jobs:
  - name: node
    source: {node: %s, root: %s, server_time_zone: UTC}
    repositories: [{name: local, url: %s}]
    schedule: "@every 2s"
    retention: {keep_last: 2, prune: true}
    verify: {schedule: "@every 3s", read_data: true}
`, n.grpc, n.root, repo)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	serve := exec.Command(binary, "serve", "--config", cfg, "--listen", addr, "--cache-dir", filepath.Join(dir, "cache"))
	logs, err := os.Create(filepath.Join(dir, "serve.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	serve.Stderr = logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = serve.Process.Signal(os.Interrupt)
		_ = serve.Wait()
	}()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		text, err := scrapeText("http://" + addr + "/metrics")
		if err == nil && strings.Contains(text, "\nbanyan_backup_backups_kept{") && strings.Contains(text, "\nbanyan_backup_verify_problems{") {
			names := map[string]bool{}
			for _, l := range strings.Split(text, "\n") {
				if l != "" && !strings.HasPrefix(l, "#") {
					name, _, _ := strings.Cut(strings.SplitN(l, " ", 2)[0], "{")
					names[name] = true
				}
			}
			return names
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(logs.Name())
			t.Fatalf("serve did not back up and verify within 2 minutes (%v)\nlogs:\n%s\nmetrics:\n%s", err, log, text)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func scrapeText(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("%s: %s", url, resp.Status)
	}
	return string(body), err
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// checkNaming applies Prometheus's naming rules to banyan-backup's own
// metrics.
func checkNaming(t *testing.T, exported map[string]bool) {
	t.Helper()
	var ours []string
	for n := range exported {
		if strings.HasPrefix(n, "banyan_backup_") {
			ours = append(ours, n)
		}
	}
	sort.Strings(ours)
	for _, n := range ours {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count")
		switch {
		case strings.Contains(base, "duration") || strings.Contains(base, "timestamp") || strings.Contains(base, "interval"):
			if !strings.HasSuffix(base, "_seconds") {
				t.Errorf("%s: a time is in _seconds", n)
			}
		case strings.Contains(base, "size"):
			if !strings.HasSuffix(base, "_bytes") {
				t.Errorf("%s: a size is in _bytes", n)
			}
		case strings.Contains(base, "bytes") && !strings.HasSuffix(base, "_bytes_total") && !strings.HasSuffix(base, "_bytes"):
			t.Errorf("%s: bytes end the name (_bytes or _bytes_total)", n)
		}
	}
	t.Logf("serve exports %d banyan_backup_* series names: %s", len(ours), strings.Join(ours, " "))
}
