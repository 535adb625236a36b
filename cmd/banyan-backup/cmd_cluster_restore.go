package main

import (
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/clusterrestore"
)

// newClusterCmd is the parent of the cluster commands.
func newClusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Back up and restore a whole BanyanDB cluster as one backup set",
		Args:  argsUsage(cobra.NoArgs),
	}
	cmd.AddCommand(newClusterBackupCmd(g), newClusterRestoreCmd(g))
	return cmd
}

// clusterRestoreFlags are cluster restore's flags: restore's options,
// shared by every node, and the new cluster.
type clusterRestoreFlags struct {
	restore restoreFlags
	set     string
	// nodeTargets are --node-target NAME=ROOT, maps --map OLD=NEW.
	nodeTargets []string
	maps        []string
	plan        bool
	// now is the moment every node's times ago (--from -3d) are read at.
	now time.Time
}

func newClusterRestoreCmd(g *globals) *cobra.Command {
	var cf clusterRestoreFlags
	cmd := &cobra.Command{
		Use:   "restore --set SET --node-target NAME=DIR...",
		Short: "Restore a backup set onto a new cluster, whole old node onto whole new node",
		Long: `Restore every data node of a backup set onto the data nodes of a new cluster.
A node's data moves only whole, so each new node gets one old node's backup:

  same number of nodes  old and new paired in sorted-name order (names as
                        BanyanDB sorts them, as strings), or as --map says;
  more new nodes        the old nodes onto the first new ones by name (or
                        --map), the others start empty: new writes then
                        spread over all nodes and the restored data stays
                        where it is until it ages out;
  fewer new nodes       refused, naming the old nodes that would have no home.

Liaisons get nothing. Name every new data node with --node-target NAME=DIR:
NAME as BanyanDB will name it (host:port), DIR its data root. Without --plan,
each node's restore runs here, into DIR (a local path: a mounted volume of the
node), one node after the other, each exactly as 'banyan-backup restore --set
SET --node OLD --target DIR' with the options given here; a new node that starts
empty needs no DIR. The command succeeds only if every node's restore does.

--plan prints the mapping and, for each node, the restore command to run on
its machine (DIR is then that machine's path), and touches no target; --dry-run
also checks, for each node, the repository and its target, as restore
--dry-run does.

After the nodes start, wait until every node has applied the same schema
revision (BanyanDB's SchemaBarrierService.AwaitRevisionApplied) before sending
traffic; the report says so.`,
		Example: `  banyan-backup cluster restore --set latest --plan \
    --node-target 10.1.0.2:17912=/var/lib/banyandb --node-target 10.1.0.3:17912=/var/lib/banyandb --node-target 10.1.0.4:17912=/var/lib/banyandb
  banyan-backup cluster restore --set 9c1e --node-target new-0:17912=/mnt/n0 --node-target new-1:17912=/mnt/n1 \
    --map old-0:17912=new-1:17912 --map old-1:17912=new-0:17912 --catalog measure --from -7d`,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runClusterRestore(cmd, g, &cf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cf.set, "set", "", "the backup set to restore: a unique prefix of its id, or latest")
	f.StringArrayVar(&cf.nodeTargets, "node-target", nil, "a data node of the new cluster and its data root, NAME=DIR (repeatable: one per new node; DIR may be left out for a node that starts empty, or with --plan)")
	f.StringArrayVar(&cf.maps, "map", nil, "put old node OLD onto new node NEW, OLD=NEW (repeatable; if given, once for every data node of the set; default: sorted-name order)")
	f.BoolVar(&cf.plan, "plan", false, "print the mapping and each node's restore command; restore nothing")
	f.StringSliceVar(&cf.restore.target.catalogs, "catalog", nil, "catalogs to restore on every node: measure, stream, trace, property, schema-property (repeatable; default all)")
	f.StringVar(&cf.restore.target.timeZone, "time-zone", "", "the time zone of the backed-up servers, in which segment names and --from/--to dates are read (default: what each backup recorded, else learned from its segments)")
	addRestoreOptionFlags(cmd, &cf.restore)
	return cmd
}

// newCluster reads --node-target and --map: the new nodes, their roots
// (cleaned; "" when not given) and the pairs.
func (cf *clusterRestoreFlags) newCluster() (clusterrestore.Options, map[string]string, error) {
	var opts clusterrestore.Options
	roots := map[string]string{}
	for _, nt := range cf.nodeTargets {
		name, dir, _ := strings.Cut(nt, "=")
		if name == "" {
			return opts, nil, usagef("invalid --node-target %q: want NAME=DIR", nt)
		}
		if dir != "" {
			dir = filepath.Clean(dir)
		}
		opts.NewNodes, roots[name] = append(opts.NewNodes, name), dir
	}
	for _, m := range cf.maps {
		old, nw, ok := strings.Cut(m, "=")
		if !ok || old == "" || nw == "" {
			return opts, nil, usagef("invalid --map %q: want OLD=NEW, the old node's name and the new node's", m)
		}
		opts.Map = append(opts.Map, clusterrestore.Pair{Old: old, New: nw})
	}
	return opts, roots, nil
}

// nodeRun sets up one node's restore into root with the options rf.
func (cf *clusterRestoreFlags) nodeRun(g *globals, rf restoreFlags, root string) (*restoreRun, error) {
	rf.target.root = root
	run, err := rf.setup(g)
	if err != nil {
		return nil, err
	}
	run.now = cf.now
	return run, nil
}

func runClusterRestore(cmd *cobra.Command, g *globals, cf *clusterRestoreFlags) error {
	if cf.set == "" {
		return usagef("no backup set given: use --set SET (a set id prefix, or latest)")
	}
	if len(cf.nodeTargets) == 0 {
		return usagef("no new node given: name each data node of the new cluster with --node-target NAME=DIR")
	}
	opts, roots, err := cf.newCluster()
	if err != nil {
		return err
	}
	cf.now = time.Now()
	check, err := cf.nodeRun(g, cf.restore, ".") // the shared options, checked before the repository is opened
	if err != nil {
		return err
	}
	repo, err := g.openLimitedRepo(cmd.Context(), check.lim)
	if err != nil {
		return err
	}
	defer repo.Close()
	s, err := repo.FindSet(cmd.Context(), cf.set)
	if err != nil {
		return err
	}
	plan, err := clusterrestore.PlanRestore(s, opts)
	if err != nil {
		return err
	}
	rep := newClusterReport(cmd, g, cf, s, plan, roots)
	if !cf.plan {
		if err := checkRoots(plan, roots); err != nil {
			return err
		}
		rep.runNodes(cmd.Context(), cmd, g, cf, repo.Repository, s)
	}
	if err := rep.print(cmd.OutOrStdout(), g.json); err != nil {
		return err
	}
	return rep.err()
}

// checkRoots refuses a restore where a node that gets data has no root,
// or two nodes share one (their data would be merged).
func checkRoots(plan *clusterrestore.Plan, roots map[string]string) error {
	seen := map[string]string{}
	for _, a := range plan.Restored() {
		dir := roots[a.New]
		if dir == "" {
			return usagef("new node %s gets old node %s's data: give its root as --node-target %s=DIR (or use --plan)", a.New, a.Old, a.New)
		}
		if other, ok := seen[dir]; ok {
			return usagef("new nodes %s and %s have the same root %s: each node needs its own", other, a.New, dir)
		}
		seen[dir] = a.New
	}
	return nil
}
