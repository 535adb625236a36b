package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
)

// alertExprs returns each alert's expression, by name.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("monitoring", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(data, false, model.UTF8Validation, promQL, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	out := map[string]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			out[r.Alert] = r.Expr
		}
	}
	return out
}

// sample is one float sample (chunks.Sample).
type sample struct {
	t int64
	f float64
}

func (s sample) T() int64                      { return s.t }
func (s sample) ST() int64                     { return 0 }
func (s sample) F() float64                    { return s.f }
func (s sample) H() *histogram.Histogram       { return nil }
func (s sample) FH() *histogram.FloatHistogram { return nil }
func (s sample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s sample) Copy() chunks.Sample           { return s }

// seriesSet is a storage.SeriesSet over a slice.
type seriesSet struct {
	series []storage.Series
	i      int
}

func (s *seriesSet) Next() bool                        { s.i++; return s.i <= len(s.series) }
func (s *seriesSet) At() storage.Series                { return s.series[s.i-1] }
func (s *seriesSet) Err() error                        { return nil }
func (s *seriesSet) Warnings() annotations.Annotations { return nil }

// memSeries are series held in memory, each a value per minute from time
// 0 (the engine's epoch) for an hour and a half, made by a function of the
// minute.
type memSeries map[string]func(minute int) float64

func (m memSeries) queryable(t *testing.T) storage.Queryable {
	t.Helper()
	var all []storage.Series
	for text, f := range m {
		lset, err := promQL.ParseMetric(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		var ss []chunks.Sample
		for min := 0; min <= 90; min++ {
			ss = append(ss, sample{int64(min) * 60_000, f(min)})
		}
		all = append(all, storage.NewListSeries(lset, ss))
	}
	sort.Slice(all, func(i, j int) bool { return labels.Compare(all[i].Labels(), all[j].Labels()) < 0 })
	return &storage.MockQueryable{MockQuerier: &storage.MockQuerier{
		SelectMockFunction: func(_ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
			var out []storage.Series
			for _, s := range all {
				if matchesAll(s.Labels(), ms) {
					out = append(out, s)
				}
			}
			return &seriesSet{series: out}
		}}}
}

func matchesAll(l labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(l.Get(m.Name)) {
			return false
		}
	}
	return true
}

// firing evaluates an alert's expression at minute min and returns the
// series it returns, as "labels value" lines without the metric name.
func firing(t *testing.T, q storage.Queryable, expr string, min int) []string {
	t.Helper()
	eng := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e6, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	qry, err := eng.NewInstantQuery(context.Background(), q, nil, expr, time.Unix(int64(min)*60, 0))
	if err != nil {
		t.Fatalf("%v\n%s", err, expr)
	}
	res := qry.Exec(context.Background())
	if res.Err != nil {
		t.Fatalf("%v\n%s", res.Err, expr)
	}
	v, err := res.Vector()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range v {
		out = append(out, fmt.Sprintf("%s %g", s.Metric.DropReserved(func(n string) bool { return n == model.MetricNameLabel }).String(), s.F))
	}
	sort.Strings(out)
	return out
}

// The alert expressions, evaluated by Prometheus's own engine on series
// shaped as serve exports them (instance and job added by the scrape), fire
// when they should and only then. The schedule interval is 600 s: two are
// 20 minutes.
func TestAlertRulesFire(t *testing.T) {
	rules := alertExprs(t)
	const lbl = `instance="bb:9108", job="banyan-backup", backup_job="node", repository="s3"`
	const jl = `instance="bb:9108", job="banyan-backup", backup_job="node"`
	const fired = `{backup_job="node", instance="bb:9108", job="banyan-backup", repository="s3"}`
	constant := func(v float64) func(int) float64 { return func(int) float64 { return v } }
	from := func(min int, before, after float64) func(int) float64 {
		return func(m int) float64 {
			if m >= min {
				return after
			}
			return before
		}
	}
	series := memSeries{
		`banyan_backup_schedule_interval_seconds{` + jl + `}`:                             constant(600),
		`banyan_backup_verify_interval_seconds{` + jl + `}`:                               constant(600),
		`process_start_time_seconds{instance="bb:9108", job="banyan-backup"}`:             constant(0),
		`banyan_backup_last_success_timestamp_seconds{` + lbl + `}`:                       from(5, 0, 300),
		`banyan_backup_has_succeeded{` + lbl + `}`:                                        from(5, 0, 1),
		`banyan_backup_failures_total{` + lbl + `, kind="node"}`:                          from(31, 0, 1),
		`banyan_backup_failures_total{` + lbl + `, kind="repository"}`:                    constant(0),
		`banyan_backup_failures_total{` + lbl + `, kind="integrity"}`:                     from(70, 0, 2),
		`banyan_backup_verify_failures_total{` + lbl + `}`:                                from(80, 0, 1),
		`banyan_backup_verify_last_success_timestamp_seconds{` + lbl + `}`:                from(10, 0, 600),
		`banyan_backup_failures_total{` + jl + `, repository="local", kind="repository"}`: from(40, 0, 3),
		`banyan_backup_has_succeeded{` + jl + `, repository="local"}`:                     constant(0),
		`banyan_backup_last_success_timestamp_seconds{` + jl + `, repository="local"}`:    constant(0),
	}
	q := series.queryable(t)
	const local = `{backup_job="node", instance="bb:9108", job="banyan-backup", repository="local"}`
	for _, c := range []struct {
		alert string
		min   int
		want  []string
	}{
		// The success at 300 s is 15 minutes old at 20 min, 25 at 30 min.
		{"BanyanBackupMissed", 20, nil},
		{"BanyanBackupMissed", 30, []string{fired + " 1500"}},
		// Repository local never succeeds: from 20 minutes of uptime on.
		{"BanyanBackupNeverSucceeded", 19, nil},
		{"BanyanBackupNeverSucceeded", 21, []string{local + " 0"}},
		{"BanyanBackupFailing", 30, nil},
		{"BanyanBackupFailing", 60, []string{`{backup_job="node", instance="bb:9108", job="banyan-backup", kind="node", repository="s3"} 1`}},
		{"BanyanBackupFailing", 90, nil}, // an hour after the failure
		{"BanyanBackupRepositoryErrors", 39, nil},
		{"BanyanBackupRepositoryErrors", 60, []string{`{backup_job="node", instance="bb:9108", job="banyan-backup", kind="repository", repository="local"} 3`}},
		{"BanyanBackupIntegrityFailure", 60, nil},
		{"BanyanBackupIntegrityFailure", 75, []string{fired + " 2"}},
		{"BanyanBackupVerifyFailed", 75, nil},
		{"BanyanBackupVerifyFailed", 85, []string{fired + " 1"}},
		// Verified at 600 s: overdue from 30 minutes; never before a first success.
		{"BanyanBackupVerifyOverdue", 5, nil},
		{"BanyanBackupVerifyOverdue", 29, nil},
		{"BanyanBackupVerifyOverdue", 31, []string{fired + " 1260"}},
	} {
		expr, ok := rules[c.alert]
		if !ok {
			t.Fatalf("no alert %s", c.alert)
		}
		got := firing(t, q, expr, c.min)
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s at minute %d: got %q, want %q", c.alert, c.min, got, c.want)
		}
	}
}
