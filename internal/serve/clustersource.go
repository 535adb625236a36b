package serve

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/cluster"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// DefaultAgentPort is the agents' port when a cluster source names none:
// the agent's own default.
const DefaultAgentPort = 17950

// ClusterSource backs a whole cluster up through its nodes' agents
// (docs/cluster.md): each run is one `cluster backup`, writing one set.
type ClusterSource struct {
	// Name is the cluster's name in the sets (default: the job's name).
	Name string `yaml:"name"`
	// NodeDiscoveryFile and NodeDiscoveryDNSSRV find the nodes as
	// BanyanDB does; Agents gives agents by node address (and is the node
	// list when neither is set).
	NodeDiscoveryFile   string            `yaml:"node_discovery_file"`
	NodeDiscoveryDNSSRV []string          `yaml:"node_discovery_dns_srv_addresses"`
	Agents              map[string]string `yaml:"agents"`
	// AgentPort (nil: DefaultAgentPort; 0: every node in Agents) and
	// AgentScheme ("https" by default) reach the other nodes' agents.
	AgentPort   *int   `yaml:"agent_port"`
	AgentScheme string `yaml:"agent_scheme"`
	AgentCA     string `yaml:"agent_ca"`
	AgentCert   string `yaml:"agent_cert"`
	AgentKey    string `yaml:"agent_key"`
	// TokenFile holds the agents' bearer token, read at each run.
	TokenFile string `yaml:"token_file"`
	// Repository is the agents' name of the job's repository (default
	// "main").
	Repository          string   `yaml:"repository"`
	Lease               Duration `yaml:"lease"`
	PrepareTimeout      Duration `yaml:"prepare_timeout"`
	CallTimeout         Duration `yaml:"call_timeout"`
	LiaisonDrainTimeout Duration `yaml:"liaison_drain_timeout"`
	// Undrained is "record" (default) or "fail".
	Undrained string `yaml:"undrained"`
}

// checkCluster checks a job whose source is a cluster: no node or root
// of its own, one repository (copies of sets are not built), and the
// cluster's fields.
func (j *JobConfig) checkCluster(p string, at errAt) error {
	c, s := j.Source.Cluster, j.Source
	switch {
	case s.Node != "" || s.Root != "" || len(s.Roots) > 0:
		return at(p+".source.cluster", "a cluster source backs its nodes up through their agents: give no node, root or roots beside it")
	case len(j.Repositories) != 1:
		return at(p+".repositories", "a cluster job writes its sets into one repository (copies of sets are not built): list exactly one")
	case c.TokenFile == "":
		return at(p+".source.cluster.token_file", "no token file: give the agents' bearer token file")
	case c.NodeDiscoveryFile == "" && len(c.NodeDiscoveryDNSSRV) == 0 && len(c.Agents) == 0:
		return at(p+".source.cluster", "no nodes: give node_discovery_file, node_discovery_dns_srv_addresses or agents")
	case c.Undrained != "" && c.Undrained != string(cluster.UndrainedRecord) && c.Undrained != string(cluster.UndrainedFail):
		return at(p+".source.cluster.undrained", "%q: use record or fail", c.Undrained)
	case c.AgentScheme != "" && c.AgentScheme != "http" && c.AgentScheme != "https":
		return at(p+".source.cluster.agent_scheme", "%q: use https or http", c.AgentScheme)
	case c.AgentPort != nil && (*c.AgentPort < 0 || *c.AgentPort > 65535):
		return at(p+".source.cluster.agent_port", "%d is not a port", *c.AgentPort)
	}
	if c.Name == "" {
		c.Name = j.Name
	}
	if c.Repository == "" {
		c.Repository = "main"
	}
	return nil
}

// discovery are the source's discovery options.
func (c *ClusterSource) discovery() cluster.DiscoveryOptions {
	port := DefaultAgentPort
	if c.AgentPort != nil {
		port = *c.AgentPort
	}
	return cluster.DiscoveryOptions{File: c.NodeDiscoveryFile, SRV: c.NodeDiscoveryDNSSRV, Agents: c.Agents,
		AgentPort: port, AgentScheme: c.AgentScheme}
}

// client reads the token and the TLS files, which may change between
// runs.
func (c *ClusterSource) client() (*cluster.Client, error) {
	tok, err := cluster.ReadToken(c.TokenFile)
	if err != nil {
		return nil, err
	}
	tlsCfg, err := cluster.ClientTLS(c.AgentCA, c.AgentCert, c.AgentKey)
	if err != nil {
		return nil, err
	}
	return cluster.NewClient(cluster.ClientOptions{Token: tok, TLS: tlsCfg, CallTimeout: time.Duration(c.CallTimeout)}), nil
}

// clusterInto runs one cluster backup of the job into rc, then applies
// the retention policy to the job's sets.
func (s *Server) clusterInto(ctx context.Context, j *job, rc RepositoryConfig) RepoResult {
	res := RepoResult{Repository: rc.Name}
	start := time.Now()
	lg := s.log.With("job", j.cfg.Name, "repository", rc.Name)
	var repo *engine.Repo
	err := func() error {
		c := j.cfg.Source.Cluster
		client, err := c.client()
		if err != nil {
			return &stageError{"config", err}
		}
		defer client.Close()
		nodes, err := cluster.Discover(ctx, c.discovery())
		if err != nil {
			return err
		}
		if repo, err = s.openRepo(ctx, rc.URL, j); err != nil {
			return &stageError{openFailureKind(err), err}
		}
		defer repo.Close()
		rep, err := cluster.Backup(ctx, cluster.Options{Nodes: nodes, Client: client, Repo: repo.Repository,
			Repository: c.Repository, Cluster: c.Name, Coordinator: s.host(), ToolVersion: s.opts.ToolVersion,
			Tags: append(slices.Clone(j.cfg.Tags), JobTag(j.cfg.Name)), Lease: time.Duration(c.Lease),
			PrepareTimeout: time.Duration(c.PrepareTimeout), DrainTimeout: c.drainTimeout(), Undrained: cluster.Undrained(c.Undrained)})
		res.Set = rep
		if err != nil {
			return err
		}
		s.recordSuccess(j, rc.Name, s.clock.Now())
		lg.Info("backup set saved", "set", rep.ID[:8], "nodes", len(rep.Set.Nodes), "window_seconds", rep.WindowSeconds,
			"warnings", strings.Join(rep.Warnings, "; "), "seconds", time.Since(start).Seconds())
		return s.afterSet(ctx, j, repo.Repository, &res, lg)
	}()
	s.settle(j, rc, repo, start, err, &res, lg, "backup failed")
	return res
}

// drainTimeout is the configured wait, or the default.
func (c *ClusterSource) drainTimeout() time.Duration {
	if c.LiaisonDrainTimeout == 0 {
		return cluster.DefaultDrainTimeout
	}
	return time.Duration(c.LiaisonDrainTimeout)
}

// afterSet applies the job's retention policy to its sets (those tagged
// job=NAME, judged as units: a set goes whole, with its members) and
// counts the sets kept.
func (s *Server) afterSet(ctx context.Context, j *job, repo *repository.Repository, res *RepoResult, lg *slog.Logger) error {
	sets, err := repo.Sets(ctx)
	if err != nil {
		return &stageError{"repository", err}
	}
	sets = slices.DeleteFunc(sets, func(b repository.BackupSet) bool { return !slices.Contains(b.Tags, JobTag(j.cfg.Name)) })
	var remove []repository.ID
	if j.cfg.Retention != nil {
		remove = engine.ApplyRetention(j.cfg.Policy(), nil, sets, nil, s.clock.Now()).RemoveSets
	}
	res.Forgotten, res.BackupsKept = len(remove), len(sets)-len(remove)
	s.m.forgotten.WithLabelValues(j.cfg.Name, res.Repository).Add(float64(len(remove)))
	s.m.kept.WithLabelValues(j.cfg.Name, res.Repository).Set(float64(res.BackupsKept))
	if len(remove) > 0 {
		if err := s.forgetSets(ctx, j, repo, remove); err != nil {
			return &stageError{"retention", err}
		}
		lg.Info("retention applied", "forgotten_sets", len(remove))
	}
	return nil
}

// forgetSets removes sets whole under an exclusive lock, and prunes when
// the policy says so.
func (s *Server) forgetSets(ctx context.Context, j *job, repo *repository.Repository, ids []repository.ID) error {
	lock, err := repo.Lock(ctx, "forget", true)
	if err != nil {
		return err
	}
	defer lock.Unlock(context.WithoutCancel(ctx))
	if err := repo.RemoveSets(ctx, lock, ids); err != nil {
		return err
	}
	if j.cfg.Retention.Prune {
		_, err = repo.Prune(ctx, lock, repository.PruneOptions{})
	}
	return err
}

// clusterFailureKind classifies a cluster run's failure: a node's, or
// the config's.
func clusterFailureKind(err error) string {
	var ne *cluster.NodeError
	switch {
	case errors.Is(err, cluster.ErrDiscovery), errors.Is(err, cluster.ErrAgentAuth):
		return "config"
	case errors.As(err, &ne), errors.Is(err, cluster.ErrUndrained):
		return "node"
	}
	return ""
}

// host is this machine's name, the sets' coordinator.
func (s *Server) host() string {
	h, _ := os.Hostname()
	return h
}

// checkCluster returns the field and a message when a cluster source's
// token or TLS files cannot be read, or its discovery finds no usable
// node list.
func checkCluster(ctx context.Context, c *ClusterSource) (field, msg string) {
	client, err := c.client()
	if err != nil {
		return ".source.cluster", err.Error()
	}
	client.Close()
	if _, err := cluster.Discover(ctx, c.discovery()); err != nil {
		return ".source.cluster", err.Error()
	}
	return "", ""
}
