package serve

import (
	"strings"
	"testing"
)

// A cluster job parses with its defaults (the cluster named after the
// job, the agents' repository "main"); a cluster source beside a node or
// a root, with two repositories, without a token file or without nodes,
// or with an unknown undrained policy, is refused naming the field.
func TestClusterSourceConfig(t *testing.T) {
	cfg, err := ParseConfig("serve.yaml", []byte(`jobs:
  - name: prod
    source:
      cluster:
        node_discovery_file: /etc/banyandb/nodes.yaml
        token_file: /etc/banyan-backup/agent.token
        agent_port: 9000
        liaison_drain_timeout: 10s
        undrained: fail
    repositories: [{url: /srv/sets}]
    schedule: "@daily"
    retention: {keep_daily: 7}
`))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Jobs[0].Source.Cluster
	if c == nil || c.Name != "prod" || c.Repository != "main" || *c.AgentPort != 9000 || c.drainTimeout().Seconds() != 10 {
		t.Fatalf("cluster source %+v", c)
	}
	if d := c.discovery(); d.AgentPort != 9000 || d.File != "/etc/banyandb/nodes.yaml" {
		t.Errorf("discovery %+v", d)
	}
	const job = "jobs:\n  - name: prod\n    schedule: \"@daily\"\n"
	for _, c := range []struct{ text, field string }{
		{"    source: {node: 127.0.0.1:17912, cluster: {token_file: t, agents: {a:1: http://a:2}}}\n    repositories: [{url: /r}]\n", "jobs[0].source.cluster"},
		{"    source: {cluster: {token_file: t, agents: {a:1: http://a:2}}}\n    repositories: [{url: /r}, {url: /s}]\n", "jobs[0].repositories"},
		{"    source: {cluster: {agents: {a:1: http://a:2}}}\n    repositories: [{url: /r}]\n", "jobs[0].source.cluster.token_file"},
		{"    source: {cluster: {token_file: t}}\n    repositories: [{url: /r}]\n", "jobs[0].source.cluster"},
		{"    source: {cluster: {token_file: t, agents: {a:1: http://a:2}, undrained: maybe}}\n    repositories: [{url: /r}]\n", "jobs[0].source.cluster.undrained"},
	} {
		_, err := ParseConfig("serve.yaml", []byte(job+c.text))
		if err == nil || !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("%s: %v, want an error at %s", c.text, err, c.field)
		}
	}
}
