package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/banyan-backup/banyan-backup/internal/clusterrestore"
	"github.com/banyan-backup/banyan-backup/internal/redact"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/restore"
)

// schemaBarrier is the advice every cluster restore report ends with
// (docs/cluster.md, "Restoring a set onto a new cluster").
const schemaBarrier = "every restored data node holds its own copy of the schema (schema-property): after the nodes start, " +
	"wait until every node has applied the same schema revision before sending writes or queries, with BanyanDB's schema barrier " +
	"(SchemaBarrierService.AwaitRevisionApplied, 0.11 and later)"

// clusterReport is what cluster restore prints (and gives as --json).
type clusterReport struct {
	Set       string                   `json:"set"`
	Cluster   string                   `json:"cluster"`
	Time      time.Time                `json:"time"`
	Placement clusterrestore.Placement `json:"placement"`
	// PlacementNote says what the mapping does to new writes.
	PlacementNote string `json:"placement_note"`
	// Liaisons of the set, which get nothing.
	Liaisons []string `json:"liaisons,omitempty"`
	// PlanOnly (--plan): nothing was restored; DryRun: each node's
	// restore was planned and checked, nothing written.
	PlanOnly bool          `json:"plan_only,omitempty"`
	DryRun   bool          `json:"dry_run,omitempty"`
	Nodes    []nodeRestore `json:"nodes"`
	// SelectionNote, with --plan and a selection, says what to do for a
	// node whose backup holds none of the selected data.
	SelectionNote string `json:"selection_note,omitempty"`
	// Succeeded: every node that gets data was restored (false with
	// --plan, where none was).
	Succeeded     bool   `json:"succeeded"`
	SchemaBarrier string `json:"schema_barrier"`
}

// nodeRestore is one new node in the report.
type nodeRestore struct {
	New string `json:"new"`
	// Old and Backup are empty for a node that starts empty.
	Old    string `json:"old,omitempty"`
	Backup string `json:"backup,omitempty"`
	Target string `json:"target,omitempty"`
	// Command restores this node on its own machine.
	Command string `json:"command,omitempty"`
	// NothingSelected: the node's backup holds none of the selected data,
	// so the node got its schema alone (Result), or nothing with
	// --no-schema.
	NothingSelected bool            `json:"nothing_selected,omitempty"`
	Result          *restore.Result `json:"result,omitempty"`
	Error           string          `json:"error,omitempty"`
	err             error
}

func (n *nodeRestore) fail(err error) {
	n.err, n.Error = err, err.Error()
}

// placementNotes say what each placement means for new writes.
var placementNotes = map[clusterrestore.Placement]string{
	clusterrestore.PlacementKept: "old and new nodes are paired in sorted-name order: while the new cluster has the same groups, " +
		"new writes of each shard go to the node holding its restored rows",
	clusterrestore.PlacementReordered: "the nodes are not paired in sorted-name order: new writes of a shard land on another node " +
		"than its restored rows (queries still see every row; only locality is lost)",
	clusterrestore.PlacementShifted: "the new cluster has more nodes than the set: the longer node list shifts placement, so new writes " +
		"spread over all nodes, the restored shards stop growing where they are, and the nodes that start empty hold only new data; " +
		"queries still see every row, and storage stays unbalanced until the restored data ages out by TTL",
}

func newClusterReport(cmd *cobra.Command, g *globals, cf *clusterRestoreFlags, s repository.BackupSet,
	plan *clusterrestore.Plan, roots map[string]string) *clusterReport {
	rep := &clusterReport{Set: s.ID.String(), Cluster: s.Cluster, Time: s.Time, Placement: plan.Placement,
		PlacementNote: placementNotes[plan.Placement], Liaisons: plan.Liaisons, PlanOnly: cf.plan,
		DryRun: cf.restore.dryRun && !cf.plan, SchemaBarrier: schemaBarrier}
	shared := sharedRestoreFlags(cmd, cf.now)
	if cf.plan && selects(cf.restore) {
		rep.SelectionNote = "a node whose backup holds none of the selected data restores nothing and exits 2: " +
			"give it its schema alone by running its command with --catalog schema-property and without --group, --from and --to"
	}
	for _, a := range plan.Nodes {
		n := nodeRestore{New: a.New, Old: a.Old, Target: roots[a.New]}
		if a.Backup != nil {
			n.Backup = a.Backup.String()
			n.Command = nodeCommand(g, s.ID, a.Old, n.Target, shared)
		}
		rep.Nodes = append(rep.Nodes, n)
	}
	return rep
}

// clusterOnlyFlags are cluster restore's flags that a node's restore does
// not take.
var clusterOnlyFlags = map[string]bool{"set": true, "node-target": true, "map": true, "plan": true, "dry-run": true}

// sharedRestoreFlags renders the restore options given to cluster
// restore as restore's arguments, in flag-name order.
// A time ago in --from or --to becomes the time it meant at now, so that
// every node restores the same window whenever its command runs.
func sharedRestoreFlags(cmd *cobra.Command, now time.Time) []string {
	var out []string
	local := cmd.LocalFlags()
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if clusterOnlyFlags[f.Name] || local.Lookup(f.Name) == nil {
			return
		}
		switch v := f.Value.(type) {
		case pflag.SliceValue:
			for _, s := range v.GetSlice() {
				out = append(out, "--"+f.Name, shellQuote(s))
			}
		default:
			switch val := f.Value.String(); {
			case f.Value.Type() == "bool" && val == "true":
				out = append(out, "--"+f.Name)
			case f.Value.Type() == "bool":
				out = append(out, "--"+f.Name+"="+val)
			default:
				out = append(out, "--"+f.Name, shellQuote(absoluteAgo(f.Name, val, now)))
			}
		}
	})
	return out
}

// absoluteAgo turns the value of --from or --to that is a time ago
// (-72h) into the RFC 3339 time it means at now; other values stay.
func absoluteAgo(flag, val string, now time.Time) string {
	if (flag != "from" && flag != "to") || !strings.HasPrefix(strings.TrimSpace(val), "-") {
		return val
	}
	t, err := restore.ParseTimeArg(val, now, time.UTC, flag == "to")
	if err != nil {
		return val
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// nodeCommand is the restore command of one node, to run on its machine.
func nodeCommand(g *globals, set repository.ID, old, target string, shared []string) string {
	args := []string{"banyan-backup", "restore"}
	if u, err := g.repoURL(); err == nil {
		args = append(args, "--repo", shellQuote(redact.URL(u)))
	}
	if target == "" {
		target = "DIR"
	}
	args = append(args, "--set", set.String(), "--node", shellQuote(old), "--target", shellQuote(target))
	return strings.Join(append(args, shared...), " ")
}

var shellSafe = regexp.MustCompile(`^[A-Za-z0-9_./:=@%+,-]+$`)

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if shellSafe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// err is the command's error: nil when every node that gets data was
// restored (or with --plan), else one naming every failed node.
func (rep *clusterReport) err() error {
	var errs []error
	for _, n := range rep.Nodes {
		if n.err != nil {
			errs = append(errs, fmt.Errorf("node %s (old %s): %w", n.New, n.Old, n.err))
		}
	}
	if len(errs) > 0 {
		return &nodesFailed{set: rep.Set, total: len(rep.restored()), errs: errs}
	}
	if rep.PlanOnly {
		return nil
	}
	for _, n := range rep.restored() {
		if !n.NothingSelected {
			return nil
		}
	}
	return fmt.Errorf("cannot restore backup set %s: %w: no node's backup holds any of the selected data", rep.Set[:8], restore.ErrNothingSelected)
}

func (rep *clusterReport) restored() []nodeRestore {
	var out []nodeRestore
	for _, n := range rep.Nodes {
		if n.Old != "" {
			out = append(out, n)
		}
	}
	return out
}

// nodesFailed is a cluster restore some of whose nodes failed; it wraps
// each node's error, so that the exit code follows them.
type nodesFailed struct {
	set   string
	total int
	errs  []error
}

func (e *nodesFailed) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return fmt.Sprintf("cannot restore backup set %s: %d of %d nodes failed: %s", e.set[:8], len(e.errs), e.total, strings.Join(msgs, "; "))
}

func (e *nodesFailed) Unwrap() []error { return e.errs }

// print writes the report, as JSON or for people.
func (rep *clusterReport) print(w io.Writer, asJSON bool) error {
	rep.Succeeded = !rep.PlanOnly && rep.err() == nil
	if asJSON {
		return printJSON(w, rep)
	}
	fmt.Fprintf(w, "backup set %s of cluster %s (%s): %d data nodes onto %d new nodes\n", rep.Set[:8], rep.Cluster,
		rep.Time.Local().Format(time.RFC3339), len(rep.restored()), len(rep.Nodes))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NEW NODE\tOLD NODE\tBACKUP\tTARGET\tSTATE")
	for _, n := range rep.Nodes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", n.New, orDash(n.Old), orDash(shortHex(n.Backup)), orDash(n.Target), rep.state(n))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "placement %s: %s\n", rep.Placement, rep.PlacementNote)
	if len(rep.Liaisons) > 0 {
		fmt.Fprintf(w, "liaisons get nothing (their queues are transient): %s\n", strings.Join(rep.Liaisons, ", "))
	}
	if rep.PlanOnly || rep.DryRun {
		if rep.PlanOnly {
			fmt.Fprintln(w, "on each new node's machine, with the node stopped, run:")
		} else {
			fmt.Fprintln(w, "to restore each node on its own machine instead, with the node stopped, run:")
		}
		for _, n := range rep.restored() {
			fmt.Fprintf(w, "  # %s\n  %s\n", n.New, n.Command)
		}
	}
	if rep.SelectionNote != "" {
		fmt.Fprintln(w, rep.SelectionNote)
	}
	fmt.Fprintf(w, "then: %s\n", rep.SchemaBarrier)
	return nil
}

// state is one node's outcome in words.
func (rep *clusterReport) state(n nodeRestore) string {
	switch {
	case n.Old == "":
		return "starts empty"
	case n.err != nil:
		return "FAILED"
	case n.NothingSelected && n.Result == nil:
		return "nothing selected"
	case n.NothingSelected && rep.DryRun:
		return "schema only, checked (dry run)"
	case n.NothingSelected:
		return "schema only: none of the selected data"
	case rep.PlanOnly:
		return "planned"
	case n.Result == nil:
		return "not run"
	case rep.DryRun:
		return "checked (dry run)"
	}
	return "restored"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shortHex(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// selects says whether rf selects data (catalogs, groups or a window),
// which a node's backup may hold none of.
func selects(rf restoreFlags) bool {
	return len(rf.target.catalogs) > 0 || len(rf.groups) > 0 || rf.from != "" || rf.to != ""
}
