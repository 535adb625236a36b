package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/agent"
	"github.com/banyan-backup/banyan-backup/internal/cluster"
	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// clusterFlags are `cluster backup`'s options.
type clusterFlags struct {
	discoveryFile, tokenFile, repoName, clusterName string
	agentScheme, agentCA, agentCert, agentKey       string
	undrained, duplicates                           string
	srv, agents, tags                               []string
	agentPort                                       int
	lease, prepareTimeout, callTimeout, drain       time.Duration
}

func newClusterBackupCmd(g *globals) *cobra.Command {
	f := &clusterFlags{}
	cmd := &cobra.Command{
		Use:   "backup --token-file FILE (--node-discovery-file FILE | --agent NODE=URL ...)",
		Short: "Back up every node of a cluster at once and write one backup set",
		Long: `Back up a BanyanDB cluster in one coordinated run (docs/cluster.md): find the
nodes (BanyanDB's node discovery file, DNS SRV names, or --agent), have every
node's agent prepare, wait for the liaisons' write queues to drain, take every
data node's snapshot at once, have the agents upload straight into the
repository and commit, and write one backup set naming every node backup.

Any failure (an agent or node unreachable, a snapshot or upload failing, a
liaison not draining with --undrained=fail) tells every agent to abort: no set
is written, no snapshot is left, and the error names the node and the cause.

The coordinator opens --repo itself (to lock it and write the set); the agents
know the same repository by name (--repo-name) from their own configuration.
Each node's agent is --agent NODE=URL, or the node's host and --agent-port.`,
		Example: `  banyan-backup cluster backup --repo s3://backups/banyandb --repo-name main \
    --node-discovery-file /etc/banyandb/nodes.yaml --agent-port 17950 \
    --token-file /etc/banyan-backup/agent.token --agent-ca /etc/banyan-backup/ca.pem --cluster prod`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClusterBackup(cmd, g, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.discoveryFile, "node-discovery-file", "", "BanyanDB's node discovery file (YAML, as --node-discovery-file-path): data nodes and liaisons")
	fl.StringSliceVar(&f.srv, "node-discovery-dns-srv-addresses", nil, "DNS SRV names of the nodes, as BanyanDB's --node-discovery-dns-srv-addresses")
	fl.StringArrayVar(&f.agents, "agent", nil, "a node's agent, NODE=URL (NODE as discovery lists it, HOST:PORT); without discovery, the node list (repeatable)")
	fl.IntVar(&f.agentPort, "agent-port", 17950, "the agents' port on their nodes' hosts, for nodes --agent does not name (0: every node needs --agent)")
	fl.StringVar(&f.agentScheme, "agent-scheme", "https", "how to reach agents found by --agent-port: https or http")
	fl.StringVar(&f.agentCA, "agent-ca", "", "PEM file of the CA that signed the agents' certificates (default: the system's)")
	fl.StringVar(&f.agentCert, "agent-cert", "", "client certificate (PEM) for agents that require mutual TLS")
	fl.StringVar(&f.agentKey, "agent-key", "", "the key of --agent-cert (PEM)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the agents' bearer token (required)")
	fl.StringVar(&f.repoName, "repo-name", "main", "the name under which the agents know the repository")
	fl.StringVar(&f.clusterName, "cluster", "default", "the cluster's name in the set (retention judges the sets of one cluster together)")
	fl.StringSliceVar(&f.tags, "tag", nil, "tags of the set and of every node backup (repeatable)")
	fl.DurationVar(&f.lease, "lease", agent.DefaultLease, "the agents' lease of the operation: an agent left alone this long aborts by itself")
	fl.DurationVar(&f.prepareTimeout, "prepare-timeout", cluster.DefaultPrepareTimeout, "how long every agent may take to prepare")
	fl.DurationVar(&f.callTimeout, "call-timeout", cluster.DefaultCallTimeout, "how long one call to an agent may take (a snapshot, a commit)")
	fl.DurationVar(&f.drain, "liaison-drain-timeout", cluster.DefaultDrainTimeout, "how long to wait for the liaisons to deliver what they queued before the run began")
	fl.StringVar(&f.undrained, "undrained", string(cluster.UndrainedRecord), "when a liaison has not drained in time: record (go on, the set records its queue) or fail")
	fl.StringVar(&f.duplicates, "duplicates", string(cluster.DuplicatesDrop), "second copies of replicated parts, stored by two agents at once: drop (once the set is written, if nobody else holds a lock on the repository) or keep (for the next prune)")
	return cmd
}

// clientAndNodes checks the flags and finds the nodes.
func (f *clusterFlags) clientAndNodes(cmd *cobra.Command) (*cluster.Client, []cluster.Node, error) {
	switch {
	case f.tokenFile == "":
		return nil, nil, usagef("no token file given: use --token-file FILE, the agents' token")
	case f.undrained != string(cluster.UndrainedRecord) && f.undrained != string(cluster.UndrainedFail):
		return nil, nil, usagef("invalid --undrained %q: use record or fail", f.undrained)
	case f.duplicates != string(cluster.DuplicatesDrop) && f.duplicates != string(cluster.DuplicatesKeep):
		return nil, nil, usagef("invalid --duplicates %q: use drop or keep", f.duplicates)
	case f.agentScheme != "http" && f.agentScheme != "https":
		return nil, nil, usagef("invalid --agent-scheme %q: use https or http", f.agentScheme)
	}
	agents := map[string]string{}
	for _, kv := range f.agents {
		name, url, ok := strings.Cut(kv, "=")
		if !ok || name == "" || !(strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://")) {
			return nil, nil, usagef("invalid --agent %q: give NODE=URL, such as 10.0.0.2:17912=https://10.0.0.2:17950", kv)
		}
		agents[name] = url
	}
	token, err := cluster.ReadToken(f.tokenFile)
	if err != nil {
		return nil, nil, usageError{err}
	}
	tlsCfg, err := cluster.ClientTLS(f.agentCA, f.agentCert, f.agentKey)
	if err != nil {
		return nil, nil, usageError{err}
	}
	nodes, err := cluster.Discover(cmd.Context(), cluster.DiscoveryOptions{File: f.discoveryFile, SRV: f.srv, Agents: agents,
		AgentPort: f.agentPort, AgentScheme: f.agentScheme})
	if err != nil {
		return nil, nil, err
	}
	return cluster.NewClient(cluster.ClientOptions{Token: token, TLS: tlsCfg, CallTimeout: f.callTimeout}), nodes, nil
}

func runClusterBackup(cmd *cobra.Command, g *globals, f *clusterFlags) error {
	client, nodes, err := f.clientAndNodes(cmd)
	if err != nil {
		return err
	}
	defer client.Close()
	ctx := cmd.Context()
	repo, err := g.openRepo(ctx)
	if err != nil {
		return err
	}
	defer repo.Close()
	host, _ := os.Hostname()
	o := cluster.Options{Nodes: nodes, Client: client, Repo: repo.Repository, Repository: f.repoName,
		Cluster: f.clusterName, Coordinator: host, ToolVersion: build().Version, Tags: f.tags, Lease: f.lease,
		PrepareTimeout: f.prepareTimeout, DrainTimeout: f.drain, Undrained: cluster.Undrained(f.undrained),
		Duplicates: cluster.Duplicates(f.duplicates)}
	if !g.quiet {
		o.OnPhase = func(p string) { fmt.Fprintf(cmd.ErrOrStderr(), "cluster backup: %s (%d nodes)\n", p, len(nodes)) }
	}
	rep, err := cluster.Backup(ctx, o)
	if err != nil {
		return err
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "warning: "+w)
	}
	if g.json {
		return printJSON(cmd.OutOrStdout(), rep)
	}
	return printClusterReport(cmd.OutOrStdout(), rep)
}

// printClusterReport writes a run's report for people: the set as `show`
// prints it, then the phases' times.
func printClusterReport(w io.Writer, rep *cluster.Report) error {
	id, err := repository.ParseID(rep.ID)
	if err != nil {
		return err
	}
	if err := printSet(w, engine.SummarizeSet(repository.BackupSet{ID: id, Set: rep.Set})); err != nil {
		return err
	}
	if d := rep.Duplicates; d != nil {
		fmt.Fprintf(w, "duplicates  %d packs of second copies deleted, %d written, %s freed", d.PacksDeleted, d.PacksWritten, humanBytes(d.BytesFreed))
		if d.PacksLeft > 0 {
			fmt.Fprintf(w, "; %d packs left for the next prune", d.PacksLeft)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprint(w, "phases     ")
	for _, p := range rep.Phases {
		fmt.Fprintf(w, " %s %.2fs", p.Name, p.Seconds)
	}
	fmt.Fprintln(w)
	return nil
}
