package serve

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

const goodConfig = `listen: 127.0.0.1:0
shutdown_grace: 10s
jobs:
  - name: node-a
    source:
      node: 127.0.0.1:17912
      root: /var/lib/banyandb
      catalogs: [measure, stream]
      groups: [sw_metric]
    repositories:
      - name: local
        url: /srv/banyan-backups
      - url: file:///mnt/offsite
    schedule: ["@hourly", "30 2 * * *"]
    retention:
      keep_last: 3
      keep_daily: 7
      keep_within: 2d
      prune: true
    limits:
      upload: 20MiB
      read: 50MiB
      concurrency: 2
  - name: node-b
    source:
      roots: {measure: /data/measure}
    repositories: [{url: /srv/b}]
    schedule: "@every 6h"
`

func TestParseGoodConfig(t *testing.T) {
	cfg, err := ParseConfig("serve.yaml", []byte(goodConfig))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:0" || time.Duration(cfg.ShutdownGrace) != 10*time.Second || len(cfg.Jobs) != 2 {
		t.Fatalf("parsed %+v", cfg)
	}
	a := cfg.Jobs[0]
	if a.Repositories[1].Name != "file:///mnt/offsite" || a.Limits.upload != 20<<20 || a.Limits.read != 50<<20 || a.Limits.Concurrency != 2 {
		t.Errorf("job a: %+v", a)
	}
	if p := a.Policy(); p.Last != 3 || p.Daily != 7 || p.Within.Days != 2 {
		t.Errorf("policy %+v", p)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := a.schedule.Next(from); !got.Equal(from.Add(time.Hour)) {
		t.Errorf("next run of job a: %v", got)
	}
	if got := cfg.Jobs[1].schedule.Next(from); !got.Equal(from.Add(6 * time.Hour)) {
		t.Errorf("next run of job b: %v", got)
	}
}

// Every config error names the file, the line and the field.
func TestConfigErrorsNameLineAndField(t *testing.T) {
	for _, c := range []struct {
		name, edit, with string
		line             int
		field, msg       string
	}{
		{"unknown field", "      keep_last: 3", "      keep_lats: 3", 16, "jobs[0].retention.keep_lats", "is not a known field"},
		{"bad schedule", `"30 2 * * *"`, `"30 25 * * *"`, 14, "jobs[0].schedule[1]", "cannot parse schedule"},
		{"bad descriptor", `"@every 6h"`, `"@every 6 hours"`, 28, "jobs[1].schedule", "@every"},
		{"wrong type", "concurrency: 2", "concurrency: two", 23, "jobs[0].limits.concurrency", "cannot unmarshal"},
		{"bad rate", "upload: 20MiB", "upload: 20 furlongs", 21, "jobs[0].limits.upload", "cannot parse rate"},
		{"bad catalog", "[measure, stream]", "[measure, streams]", 8, "jobs[0].source.catalogs[1]", "catalog"},
		{"no root", "      roots: {measure: /data/measure}", "      node: 10.0.0.1:17912", 25, "jobs[1].source.root", "no data root"},
		{"no url", "      - url: file:///mnt/offsite", "      - name: offsite", 13, "jobs[0].repositories[1].url", "no url"},
		{"duplicate job", "  - name: node-b", "  - name: node-a", 24, "jobs[1].name", "used twice"},
		{"negative keep", "keep_daily: 7", "keep_daily: -7", 17, "jobs[0].retention.keep_daily", "-1 for all"},
		{"bad keep_within", "keep_within: 2d", "keep_within: 2 days", 18, "jobs[0].retention.keep_within", "duration"},
		{"bad grace", "shutdown_grace: 10s", "shutdown_grace: soon", 2, "shutdown_grace", "invalid duration"},
		{"bad yaml", "    schedule: \"@every 6h\"", "    schedule: [\"@every 6h\"", 28, "", "did not find expected"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(goodConfig, c.edit) {
				t.Fatalf("test config lacks %q", c.edit)
			}
			_, err := ParseConfig("serve.yaml", []byte(strings.Replace(goodConfig, c.edit, c.with, 1)))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is not a ConfigError", err)
			}
			msg := err.Error()
			if ce.Line != c.line || ce.Field != c.field || !strings.Contains(msg, c.msg) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q (line %d, field %q); want line %d, field %q, containing %q, on one line", msg, ce.Line, ce.Field, c.line, c.field, c.msg)
			}
			if want := "serve.yaml:" + strconv.Itoa(c.line) + ": "; !strings.HasPrefix(msg, want) {
				t.Fatalf("error %q does not start with %q", msg, want)
			}
		})
	}
}

func TestEmptyConfig(t *testing.T) {
	_, err := ParseConfig("serve.yaml", []byte("listen: 127.0.0.1:9108\n"))
	if err == nil || !strings.Contains(err.Error(), "jobs: no jobs") {
		t.Fatalf("config without jobs: %v", err)
	}
}

func TestVerifyConfig(t *testing.T) {
	const base = "jobs:\n  - name: a\n    source: {root: /r}\n    repositories: [{url: /repo}]\n    schedule: \"@hourly\"\n    time_zone: Europe/Berlin\n"
	cfg, err := ParseConfig("serve.yaml", []byte(base+"    verify: {schedule: \"0 4 * * 0\", read_data: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	v := cfg.Jobs[0].Verify
	from := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC) // a Sunday
	if !v.ReadData || !v.schedule.Next(from).Equal(time.Date(2026, 2, 1, 3, 0, 0, 0, time.UTC)) {
		t.Fatalf("verify %+v: next %v, want 04:00 Berlin", v, v.schedule.Next(from))
	}
	for edit, want := range map[string]string{
		"    verify: {read_data: true}\n":       `serve.yaml:7: jobs[0].verify.schedule: no schedule`,
		"    verify: {schedule: \"0 4 * *\"}\n": `serve.yaml:7: jobs[0].verify.schedule: cannot parse schedule`,
	} {
		if _, err := ParseConfig("serve.yaml", []byte(base+edit)); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q", edit, err, want)
		}
	}
}
