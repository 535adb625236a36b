package serve

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseConfig feeds the config parser anything: it returns a
// ConfigError naming the file, or a config whose every job is complete
// (a name, a root, repositories with URLs, a schedule, time zones when
// named, limits).
// The file is the operator's, not repository data, so memory is not
// bounded here beyond yaml.v3's own alias limits.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(goodConfig))
	f.Add([]byte("jobs: [{name: a, source: {root: /r}, repositories: [{url: /x}], schedule: '@daily', retention: {keep_last: 1}}]\n"))
	f.Add([]byte("jobs:\n  - &a {name: a}\n  - *a\n"))
	f.Add([]byte("listen: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.File != "fuzz.yaml" || ce.Line < 0 {
				t.Fatalf("error %v (%T), want a ConfigError for fuzz.yaml", err, err)
			}
			return
		}
		if len(cfg.Jobs) == 0 {
			t.Fatal("accepted a config without jobs")
		}
		for _, j := range cfg.Jobs {
			if !jobName.MatchString(j.Name) || (j.Source.Root == "" && len(j.Source.Roots) == 0) ||
				len(j.Repositories) == 0 || j.schedule == nil || j.Limits.Concurrency < 0 ||
				(j.Source.location == nil && strings.TrimSpace(j.Source.ServerTimeZone) != "") { // no zone: learned from the data
				t.Fatalf("accepted incomplete job %+v", j)
			}
			for _, r := range j.Repositories {
				if r.Name == "" || r.URL == "" {
					t.Fatalf("accepted repository %+v", r)
				}
			}
		}
	})
}
