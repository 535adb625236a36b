// Package serve runs banyan-backup as a scheduler sidecar: jobs from a
// YAML config back up BanyanDB nodes into one or more repositories on cron
// schedules, apply their retention policies, and are observed through
// Prometheus metrics, a health check, JSON logs and a small HTTP API.
package serve

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/banyan-backup/banyan-backup/internal/banyandb"
	"github.com/banyan-backup/banyan-backup/internal/ratelimit"
	"github.com/banyan-backup/banyan-backup/internal/redact"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/retention"
	"github.com/banyan-backup/banyan-backup/internal/schedule"
)

// Config is a parsed, checked serve config file.
type Config struct {
	// Listen is the HTTP address of /metrics, /healthz and /api.
	Listen string `yaml:"listen"`
	// TokenFile holds the bearer token API requests must carry.
	TokenFile string `yaml:"token_file"`
	// TLSCert and TLSKey make the listener serve HTTPS; with TLSClientCA,
	// client certificates it signed authorize API requests (mutual TLS).
	TLSCert     string `yaml:"tls_cert"`
	TLSKey      string `yaml:"tls_key"`
	TLSClientCA string `yaml:"tls_client_ca"`
	// AllowedHosts are the host names API requests may be sent to besides
	// IP addresses, localhost and the listen address's host.
	AllowedHosts []string `yaml:"allowed_hosts"`
	// ShutdownGrace is how long a running backup may go on after SIGTERM
	// before it is cancelled.
	ShutdownGrace Duration    `yaml:"shutdown_grace"`
	Jobs          []JobConfig `yaml:"jobs"`
}

// JobConfig is one job: what to back up, where, when, what to keep.
type JobConfig struct {
	Name         string             `yaml:"name"`
	Source       SourceConfig       `yaml:"source"`
	Repositories []RepositoryConfig `yaml:"repositories"`
	// Schedule is one or more cron expressions or descriptors.
	Schedule StringList `yaml:"schedule"`
	// TimeZone is the zone cron fields are read in (default UTC).
	TimeZone  string           `yaml:"time_zone"`
	Retention *RetentionConfig `yaml:"retention"`
	Limits    LimitsConfig     `yaml:"limits"`
	Tags      []string         `yaml:"tags"`
	// Verify schedules checks of the job's repositories (nil: none).
	Verify *VerifyConfig `yaml:"verify"`

	schedule schedule.Schedule
}

// VerifyConfig schedules `verify` of each of a job's repositories.
type VerifyConfig struct {
	// Schedule is one or more cron expressions or descriptors, in the
	// job's time_zone.
	Schedule StringList `yaml:"schedule"`
	// ReadData reads every pack and checks every blob's hash (verify
	// --read-data); else the structure only.
	ReadData bool `yaml:"read_data"`

	schedule schedule.Schedule
}

// SourceConfig says which node and data root to back up.
type SourceConfig struct {
	// Node is the node's snapshot API (HOST:PORT for gRPC, http(s)://HOST:PORT);
	// empty: an offline backup of a stopped node's root.
	Node               string            `yaml:"node"`
	Root               string            `yaml:"root"`
	Roots              map[string]string `yaml:"roots"` // per-catalog roots
	Catalogs           []string          `yaml:"catalogs"`
	Groups             []string          `yaml:"groups"`
	ServerTimeZone     string            `yaml:"server_time_zone"`
	TLS                bool              `yaml:"tls"`
	CACert             string            `yaml:"ca_cert"`
	InsecureSkipVerify bool              `yaml:"insecure_skip_verify"`
	ConnectTimeout     Duration          `yaml:"connect_timeout"`
	CallTimeout        Duration          `yaml:"call_timeout"`
	// NodeRetries is how many more times a run tries a node it cannot
	// reach, waiting NodeRetryWait, then twice as long each time; nil
	// means DefaultNodeRetries, 0 fails the run at once.
	NodeRetries   *int     `yaml:"node_retries"`
	NodeRetryWait Duration `yaml:"node_retry_wait"`
	KeepSnapshot  bool     `yaml:"keep_snapshot"`
	// Cluster backs a whole cluster up through its agents instead of one
	// node (clustersource.go); nil: one node.
	Cluster *ClusterSource `yaml:"cluster"`
	// Host names the node the backups are of, by which retention groups
	// them (default: the node's host, or this machine's hostname for a
	// node on localhost or an offline backup).
	Host string `yaml:"host"`

	catalogs []banyandb.Catalog
	location *time.Location
}

// RepositoryConfig is one repository a job writes to.
type RepositoryConfig struct {
	// Name labels the repository in metrics, logs and the API (default: its
	// URL without credentials).
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
	// PasswordFile or KeyFile open an encrypted repository (read at each
	// run, so a rotated secret takes effect without a restart).
	PasswordFile string `yaml:"password_file"`
	KeyFile      string `yaml:"key_file"`
}

// credentials reads the repository's password or key file; nil when the
// config names neither.
func (rc RepositoryConfig) credentials() (*repository.Credentials, error) {
	switch {
	case rc.KeyFile != "":
		data, err := os.ReadFile(rc.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read key_file of repository %s: %w", rc.Name, err)
		}
		return &repository.Credentials{KeyFile: data}, nil
	case rc.PasswordFile != "":
		data, err := os.ReadFile(rc.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read password_file of repository %s: %w", rc.Name, err)
		}
		if i := bytes.IndexAny(data, "\r\n"); i >= 0 {
			data = data[:i]
		}
		if len(data) == 0 {
			return nil, fmt.Errorf("password_file %s of repository %s is empty", rc.PasswordFile, rc.Name)
		}
		return &repository.Credentials{Password: data}, nil
	}
	return nil, nil
}

// RetentionConfig is a job's retention policy, applied after each
// successful backup.
type RetentionConfig struct {
	KeepLast    int    `yaml:"keep_last"`
	KeepHourly  int    `yaml:"keep_hourly"`
	KeepDaily   int    `yaml:"keep_daily"`
	KeepWeekly  int    `yaml:"keep_weekly"`
	KeepMonthly int    `yaml:"keep_monthly"`
	KeepYearly  int    `yaml:"keep_yearly"`
	KeepWithin  string `yaml:"keep_within"`
	// Prune removes the data no kept backup needs (default: forget only).
	Prune bool `yaml:"prune"`
}

// LimitsConfig caps one job's runs.
type LimitsConfig struct {
	Upload      string `yaml:"upload"`
	Download    string `yaml:"download"`
	Read        string `yaml:"read"`
	Concurrency int    `yaml:"concurrency"`

	upload, download, read int64
}

// Duration is a time.Duration written as "30s", "5m".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: invalid duration %q: want e.g. 30s, 5m, 1h", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// StringList is a string or a list of strings.
type StringList []string

// UnmarshalYAML implements yaml.Unmarshaler.
func (s *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = StringList{n.Value}
		return nil
	}
	var list []string
	if err := n.Decode(&list); err != nil {
		return err
	}
	*s = list
	return nil
}

// ConfigError is a config problem at a line, naming the field.
type ConfigError struct {
	File  string
	Line  int
	Field string // e.g. jobs[0].schedule
	Msg   string
}

func (e *ConfigError) Error() string {
	loc := e.File
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", loc, e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, e.Msg)
}

// LoadConfig reads and checks a config file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read config %s: %w", path, err)
	}
	return ParseConfig(path, data)
}

// ParseConfig parses and checks a config; name is used in messages.
func ParseConfig(name string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		line := yamlLine(err)
		if strings.Contains(err.Error(), "did not find expected") {
			// yaml.v3 gives the 0-based line of the unclosed flow
			// collection in these messages.
			line++
		}
		return nil, &ConfigError{File: name, Line: line, Msg: cleanYAMLError(err)}
	}
	paths := map[string]*yaml.Node{}
	byLine := map[int]string{}
	if len(root.Content) > 0 {
		walk(root.Content[0], "", paths, byLine)
	}
	cfg := &Config{Listen: "127.0.0.1:9108", ShutdownGrace: Duration(30 * time.Second)}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		line := yamlLine(err)
		return nil, &ConfigError{File: name, Line: line, Field: byLine[line], Msg: cleanYAMLError(err)}
	}
	at := func(field, msg string, args ...any) error {
		e := &ConfigError{File: name, Field: field, Msg: fmt.Sprintf(msg, args...)}
		// The field's own line, or its nearest parent's.
		for p := field; p != ""; p = parentPath(p) {
			if n, ok := paths[p]; ok {
				e.Line = n.Line
				break
			}
		}
		return e
	}
	if err := cfg.check(at); err != nil {
		return nil, err
	}
	return cfg, nil
}

type errAt func(field, msg string, args ...any) error

var jobName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

func (c *Config) check(at errAt) error {
	if len(c.Jobs) == 0 {
		return at("jobs", "no jobs: add at least one job with a name, a source, repositories and a schedule")
	}
	seen := map[string]bool{}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		p := fmt.Sprintf("jobs[%d]", i)
		if !jobName.MatchString(j.Name) {
			return at(p+".name", "job name %q: want letters, digits, '.', '_' or '-'", j.Name)
		}
		if seen[j.Name] {
			return at(p+".name", "job name %q is used twice", j.Name)
		}
		seen[j.Name] = true
		if err := j.check(p, at); err != nil {
			return err
		}
	}
	return nil
}

func (j *JobConfig) check(p string, at errAt) error {
	if j.Source.Cluster != nil {
		if err := j.checkCluster(p, at); err != nil {
			return err
		}
	} else if err := j.checkSource(p, at); err != nil {
		return err
	}
	if len(j.Repositories) == 0 {
		return at(p+".repositories", "no repositories: list at least one with a url")
	}
	names := map[string]bool{}
	for i := range j.Repositories {
		r := &j.Repositories[i]
		if strings.TrimSpace(r.URL) == "" {
			return at(fmt.Sprintf("%s.repositories[%d].url", p, i), "no url: give a path, file:///path or an object store URL")
		}
		if r.Name == "" {
			r.Name = redact.URL(r.URL)
		}
		if names[r.Name] {
			return at(fmt.Sprintf("%s.repositories[%d].name", p, i), "repository name %q is used twice in this job", r.Name)
		}
		names[r.Name] = true
	}
	if len(j.Schedule) == 0 {
		return at(p+".schedule", "no schedule: give a cron expression or @hourly, @daily, @weekly, @every 6h")
	}
	zone := time.UTC
	var err error
	if j.TimeZone != "" {
		if zone, err = time.LoadLocation(j.TimeZone); err != nil {
			return at(p+".time_zone", "unknown time zone %q", j.TimeZone)
		}
	}
	if j.schedule, err = parseSchedules(p+".schedule", j.Schedule, zone, at); err != nil {
		return err
	}
	if v := j.Verify; v != nil {
		if len(v.Schedule) == 0 {
			return at(p+".verify.schedule", "no schedule: give a cron expression or @daily, @weekly")
		}
		if v.schedule, err = parseSchedules(p+".verify.schedule", v.Schedule, zone, at); err != nil {
			return err
		}
	}
	if r := j.Retention; r != nil {
		for _, k := range []struct {
			name string
			v    int
		}{{"keep_last", r.KeepLast}, {"keep_hourly", r.KeepHourly}, {"keep_daily", r.KeepDaily}, {"keep_weekly", r.KeepWeekly},
			{"keep_monthly", r.KeepMonthly}, {"keep_yearly", r.KeepYearly}} {
			if k.v < -1 {
				return at(p+".retention."+k.name, "%d: want a count of backups to keep, or -1 for all", k.v)
			}
		}
		if r.KeepWithin != "" {
			if _, err := retention.ParseDuration(r.KeepWithin); err != nil {
				return at(p+".retention.keep_within", "%v", err)
			}
		}
		if r.empty() {
			return at(p+".retention", "the policy keeps nothing: set keep_last, keep_daily or another keep_* field")
		}
	}
	l := &j.Limits
	for _, f := range []struct {
		name string
		val  string
		dst  *int64
	}{{"upload", l.Upload, &l.upload}, {"download", l.Download, &l.download}, {"read", l.Read, &l.read}} {
		n, err := ratelimit.ParseRate(f.val)
		if err != nil {
			return at(p+".limits."+f.name, "%v", err)
		}
		*f.dst = n
	}
	if l.Concurrency < 0 {
		return at(p+".limits.concurrency", "%d is negative: want a number of workers", l.Concurrency)
	}
	return nil
}

// checkSource checks a one-node source.
func (j *JobConfig) checkSource(p string, at errAt) error {
	s := &j.Source
	if s.Root == "" && len(s.Roots) == 0 {
		return at(p+".source.root", "no data root: give source.root (the node's root directory) or source.roots")
	}
	for k := range s.Roots {
		if _, err := banyandb.ParseCatalog(k); err != nil {
			return at(p+".source.roots."+k, "%v", err)
		}
	}
	for i, name := range s.Catalogs {
		c, err := banyandb.ParseCatalog(name)
		if err != nil {
			return at(fmt.Sprintf("%s.source.catalogs[%d]", p, i), "%v", err)
		}
		s.catalogs = append(s.catalogs, c)
	}
	loc, err := banyandb.ParseZone(s.ServerTimeZone) // nil: learned from the data
	if err != nil {
		return at(p+".source.server_time_zone", "unknown time zone %q", s.ServerTimeZone)
	}
	s.location = loc
	if s.NodeRetries != nil && *s.NodeRetries < 0 {
		return at(p+".source.node_retries", "%d: want how many more times to try an unreachable node (0: fail at once)", *s.NodeRetries)
	}
	return nil
}

// parseSchedules parses a list of schedule expressions into one Set; field
// names the list in errors.
func parseSchedules(field string, specs []string, zone *time.Location, at errAt) (schedule.Set, error) {
	var set schedule.Set
	for i, spec := range specs {
		sc, err := schedule.Parse(spec, zone)
		if err != nil {
			f := field
			if len(specs) > 1 {
				f = fmt.Sprintf("%s[%d]", field, i)
			}
			return nil, at(f, "%v", err)
		}
		set = append(set, sc)
	}
	return set, nil
}

func (r *RetentionConfig) empty() bool {
	return r.KeepLast == 0 && r.KeepHourly == 0 && r.KeepDaily == 0 && r.KeepWeekly == 0 &&
		r.KeepMonthly == 0 && r.KeepYearly == 0 && r.KeepWithin == ""
}

// walk records every mapping key and sequence item of the document by its
// path (jobs[0].source.root), and for each line the deepest path on it.
func walk(n *yaml.Node, path string, paths map[string]*yaml.Node, byLine map[int]string) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			paths[p] = k
			byLine[k.Line] = p
			if v.Line != k.Line || v.Kind != yaml.ScalarNode {
				walk(v, p, paths, byLine)
			}
		}
	case yaml.SequenceNode:
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			paths[p] = item
			if _, ok := byLine[item.Line]; !ok || item.Kind == yaml.ScalarNode {
				byLine[item.Line] = p
			}
			walk(item, p, paths, byLine)
		}
	}
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

var lineRe = regexp.MustCompile(`line (\d+)`)

// yamlLine finds the first line number in a yaml error.
func yamlLine(err error) int {
	m := lineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// cleanYAMLError turns yaml.v3's multi-line message into one line without
// the "yaml:" prefix, the line number (given apart) and Go type names.
func cleanYAMLError(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if len(te.Errors) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(te.Errors)-1)
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	msg = regexp.MustCompile(`^line \d+: `).ReplaceAllString(msg, "")
	msg = regexp.MustCompile(` in type serve\.\w+`).ReplaceAllString(msg, "")
	msg = regexp.MustCompile(`into (serve\.)?\w+`).ReplaceAllStringFunc(msg, func(s string) string {
		return "into " + goTypeWord(strings.TrimPrefix(strings.TrimPrefix(s, "into "), "serve."))
	})
	return strings.Replace(msg, "not found", "is not a known field", 1)
}

func goTypeWord(t string) string {
	switch {
	case strings.HasPrefix(t, "int"), strings.HasPrefix(t, "uint"):
		return "a number"
	case t == "bool":
		return "true or false"
	case t == "string":
		return "a string"
	case strings.HasSuffix(t, "Config"), t == "Config":
		return "a mapping"
	}
	return t
}
