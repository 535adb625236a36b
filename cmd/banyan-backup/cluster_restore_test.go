package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// clusterOut is what cluster restore --json gives.
type clusterOut struct {
	Set           string `json:"set"`
	Placement     string `json:"placement"`
	PlanOnly      bool   `json:"plan_only"`
	Succeeded     bool   `json:"succeeded"`
	SchemaBarrier string `json:"schema_barrier"`
	Liaisons      []string
	SelectionNote string `json:"selection_note"`
	Nodes         []struct {
		New, Old, Backup, Target, Command, Error string
		NothingSelected                          bool `json:"nothing_selected"`
		Result                                   *struct {
			Backup string `json:"backup"`
			Parts  int    `json:"parts"`
			DryRun bool   `json:"dry_run"`
		}
	} `json:"nodes"`
}

func clusterJSON(t *testing.T, stdout string) clusterOut {
	t.Helper()
	var out clusterOut
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("cluster restore --json printed no JSON: %v\n%s", err, stdout)
	}
	return out
}

// pairs renders the report's nodes as new<-old.
func (o clusterOut) pairs() string {
	var out []string
	for _, n := range o.Nodes {
		out = append(out, n.New+"<-"+n.Old)
	}
	return strings.Join(out, " ")
}

// A set of three data nodes restored onto three fresh roots: the nodes
// are paired in sorted-name order (as strings: 10.0.0.10 first), every
// root passes check, and each holds exactly the files of the old node it
// was given (the root that node's backup was taken of). The liaison gets
// nothing; the report ends with the schema barrier.
func TestClusterRestoreOntoThreeRoots(t *testing.T) {
	c := newTestCluster(t)
	news := []string{"new-c:17912", "new-a:17912", "new-b:17912"}
	roots, targets := newTargets(t, news...)
	out := clusterJSON(t, mustRun(t, append([]string{"cluster", "restore", "--repo", c.repo, "--set", c.set[:10], "--json"}, targets...)...))
	if !out.Succeeded || out.Set != c.set || out.Placement != "kept" {
		t.Errorf("report: succeeded %v, set %s, placement %s", out.Succeeded, out.Set, out.Placement)
	}
	if want := "new-a:17912<-10.0.0.10:17912 new-b:17912<-10.0.0.11:17912 new-c:17912<-10.0.0.9:17912"; out.pairs() != want {
		t.Errorf("mapping %s, want %s", out.pairs(), want)
	}
	if len(out.Liaisons) != 1 || out.Liaisons[0] != testLiaison || !strings.Contains(out.SchemaBarrier, "SchemaBarrierService.AwaitRevisionApplied") {
		t.Errorf("liaisons %v, schema barrier %q", out.Liaisons, out.SchemaBarrier)
	}
	for _, n := range out.Nodes {
		if n.Result == nil || n.Result.Backup != n.Backup || n.Result.Parts == 0 || n.Error != "" {
			t.Errorf("node %s: result %+v, error %q", n.New, n.Result, n.Error)
			continue
		}
		mustRun(t, "check", "--root", roots[n.New])
		compareTrees(t, c.roots[n.Old], roots[n.New])
	}
}

// --plan restores nothing (nor does --dry-run, which checks each node's
// restore) and prints, for each node, the restore command
// to run on its machine, with the shared options (a time ago made
// absolute); run as printed, it restores that node's data.
func TestClusterRestorePlanCommands(t *testing.T) {
	c := newTestCluster(t)
	roots, targets := newTargets(t, "n0:17912", "n1:17912", "n2:17912")
	args := append([]string{"cluster", "restore", "--repo", c.repo, "--set", "latest", "--plan", "--catalog", "measure", "--from", "-100000d"}, targets...)
	text := mustRun(t, args...)
	for _, want := range []string{"planned", "on each new node's machine", "--catalog measure --from ", "SchemaBarrierService.AwaitRevisionApplied", "liaisons get nothing"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "-100000d") {
		t.Errorf("the plan's commands keep the time ago:\n%s", text)
	}
	out := clusterJSON(t, mustRun(t, append(args, "--json")...))
	if !out.PlanOnly || out.Succeeded {
		t.Errorf("--plan: plan_only %v, succeeded %v", out.PlanOnly, out.Succeeded)
	}
	dry := clusterJSON(t, mustRun(t, append([]string{"cluster", "restore", "--repo", c.repo, "--set", c.set, "--dry-run", "--json"}, targets...)...))
	if dry.PlanOnly || !dry.Succeeded || len(dry.Nodes) != 3 || dry.Nodes[0].Result == nil || !dry.Nodes[0].Result.DryRun {
		t.Errorf("--dry-run: %+v", dry)
	}
	for _, dir := range roots {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("--plan or --dry-run touched %s: %v", dir, err)
		}
	}
	n := out.Nodes[1]
	argv := strings.Fields(n.Command)
	if argv[0] != "banyan-backup" || argv[1] != "restore" || !strings.Contains(n.Command, "--set "+c.set+" --node "+n.Old) {
		t.Fatalf("command %q", n.Command)
	}
	mustRun(t, argv[1:]...)
	got, want := listDataTrees(t, roots[n.New]), listDataTrees(t, c.roots[n.Old])
	for p := range want {
		if !strings.HasPrefix(p, "measure/") && !strings.HasPrefix(p, "schema-property/") {
			delete(want, p)
		}
	}
	if len(got) != len(want) {
		t.Errorf("the printed command restored %d entries, want the %d of measure and the schema", len(got), len(want))
	}
	for p, e := range want {
		if got[p] != e {
			t.Errorf("%s: restored %+v, want %+v", p, got[p], e)
		}
	}
}

// The mapping on the command line: --map in another order is followed
// and said to reorder placement; more new nodes leave the last ones empty
// and shift placement; fewer are refused naming the homeless nodes; bad
// maps, a node that gets data without a root, and two nodes on one root
// are usage errors.
func TestClusterRestoreMapping(t *testing.T) {
	c := newTestCluster(t)
	base := []string{"cluster", "restore", "--repo", c.repo, "--set", c.set[:12], "--plan", "--json"}
	three := []string{"--node-target", "n0:1=/r", "--node-target", "n1:1=/r", "--node-target", "n2:1=/r"}
	maps := []string{"--map", "10.0.0.9:17912=n0:1", "--map", "10.0.0.10:17912=n1:1", "--map", "10.0.0.11:17912=n2:1"}
	out := clusterJSON(t, mustRun(t, append(append(base, three...), maps...)...))
	if want := "n0:1<-10.0.0.9:17912 n1:1<-10.0.0.10:17912 n2:1<-10.0.0.11:17912"; out.pairs() != want || out.Placement != "reordered" {
		t.Errorf("--map: %s (%s), want %s (reordered)", out.pairs(), out.Placement, want)
	}
	four := append(three, "--node-target", "n3:1")
	out = clusterJSON(t, mustRun(t, append(base, four...)...))
	if want := "n0:1<-10.0.0.10:17912 n1:1<-10.0.0.11:17912 n2:1<-10.0.0.9:17912 n3:1<-"; out.pairs() != want || out.Placement != "shifted" {
		t.Errorf("four nodes: %s (%s), want %s (shifted)", out.pairs(), out.Placement, want)
	}
	text := mustRun(t, append(base[:len(base)-1], four...)...)
	if !strings.Contains(text, "starts empty") || !strings.Contains(text, "stays unbalanced until the restored data ages out") {
		t.Errorf("four nodes, text:\n%s", text)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{three[:4], "10.0.0.9:17912 would have no home"},
		{append(three, "--map", "10.0.0.9:17912=n0:1"), "it lacks 10.0.0.10:17912, 10.0.0.11:17912"},
		{append(three, maps[:4]...), "it lacks 10.0.0.11:17912"},
		{append(three, "--map", "10.0.0.9:17912=n0:1", "--map", "10.0.0.10:17912=n0:1", "--map", "10.0.0.11:17912=n2:1"), "onto n0:1"},
		{append(three, "--map", "10.0.0.9:17912=n9:1", "--map", "10.0.0.10:17912=n0:1", "--map", "10.0.0.11:17912=n2:1"), "n9:1 is not one of the new nodes"},
		{append(three, "--map", testLiaison+"=n0:1"), "is a liaison"},
		{append(three, "--map", "nonsense"), "want OLD=NEW"},
		{[]string{"--node-target", "n0:1=/r", "--node-target", "n0:1=/s", "--node-target", "n2:1=/r"}, "named twice"},
	} {
		r := run(t, append(base, bad.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v: exit %d, %s; want 2 with %q", bad.args, r.code, r.stderr, bad.want)
		}
	}
	run1 := []string{"cluster", "restore", "--repo", c.repo, "--set", c.set}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"--node-target", "n0:1=/r", "--node-target", "n1:1", "--node-target", "n2:1=/s"}, "give its root as --node-target n1:1=DIR"},
		{three, "have the same root /r"},
	} {
		r := run(t, append(run1, bad.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("%v: exit %d, %s; want 2 with %q", bad.args, r.code, r.stderr, bad.want)
		}
	}
	if r := run(t, "cluster", "restore", "--repo", c.repo, "--set", "ffffffff", "--node-target", "n0:1=/r"); r.code != 1 || !strings.Contains(r.stderr, "no backup set id starts with") {
		t.Errorf("an unknown set: exit %d, %s", r.code, r.stderr)
	}
}

// One node's restore failing (its target holds data, without --merge)
// fails the command, naming the node, after the other nodes were
// restored all the same; the report says which.
func TestClusterRestoreOneNodeFails(t *testing.T) {
	c := newTestCluster(t)
	roots, targets := newTargets(t, "n0:1", "n1:1", "n2:1")
	if err := os.MkdirAll(filepath.Join(roots["n1:1"], "measure", "data", "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := run(t, append([]string{"cluster", "restore", "--repo", c.repo, "--set", c.set, "--json"}, targets...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "1 of 3 nodes failed: node n1:1 (old 10.0.0.11:17912)") {
		t.Fatalf("exit %d, stderr %s", r.code, r.stderr)
	}
	out := clusterJSON(t, r.stdout)
	if out.Succeeded {
		t.Error("the report says it succeeded")
	}
	for _, n := range out.Nodes {
		failed := n.New == "n1:1"
		if failed != (n.Error != "") || failed != (n.Result == nil) {
			t.Errorf("node %s: error %q, result %v", n.New, n.Error, n.Result)
		}
		if !failed {
			compareTrees(t, c.roots[n.Old], roots[n.New])
		}
	}
}

// restore --set --node restores that member with restore's options (a
// selection here); an unknown node names the set's nodes, a liaison has
// no backup, and --node without --set (and the like) are usage errors.
func TestRestoreSetNode(t *testing.T) {
	c := newTestCluster(t)
	node := "10.0.0.10:17912"
	dir := filepath.Join(t.TempDir(), "r")
	mustRun(t, "restore", "--repo", c.repo, "--set", c.set[:8], "--node", node, "--target", dir, "--catalog", "stream", "--no-schema")
	got, want := listDataTrees(t, dir), listDataTrees(t, c.roots[node])
	for p := range want {
		if !strings.HasPrefix(p, "stream/") {
			delete(want, p)
		}
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Errorf("restored %d entries, want the %d of the node's stream catalog", len(got), len(want))
	}
	for p, e := range want {
		if got[p] != e {
			t.Errorf("%s: restored %+v, want %+v", p, got[p], e)
		}
	}
	mustRun(t, "check", "--root", dir)
	for _, bad := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--set", c.set, "--node", "10.0.0.12:17912"}, 2, "its nodes with a backup: 10.0.0.10:17912, 10.0.0.11:17912, 10.0.0.9:17912"},
		{[]string{"--set", c.set, "--node", testLiaison}, 2, "is a liaison without a backup"},
		{[]string{"--set", "0000000000", "--node", node}, 1, "no backup set id starts with"},
		{[]string{"--node", node}, 2, "--node needs --set"},
		{[]string{"--set", c.set}, 2, "--set needs --node"},
		{[]string{"latest", "--set", c.set, "--node", node}, 2, "not both"},
	} {
		r := run(t, append([]string{"restore", "--repo", c.repo, "--target", filepath.Join(t.TempDir(), "x")}, bad.args...)...)
		if r.code != bad.code || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("restore %v: exit %d, %s; want %d with %q", bad.args, r.code, r.stderr, bad.code, bad.want)
		}
	}
}

// The selection applies to the set: a node whose backup holds none of
// the selected data (a group its old node lacks) gets its schema alone
// (nothing with --no-schema) while the others get the group; a selection
// that matches no node's data is exit 2 with nothing written; --plan
// says what to do about such a node.
func TestClusterRestoreSelectionAppliesToTheSet(t *testing.T) {
	c := newTestCluster(t)
	base := []string{"cluster", "restore", "--repo", c.repo, "--set", c.set, "--json", "--group", "bk_trace"}
	roots, targets := newTargets(t, "n0:1", "n1:1", "n2:1")
	out := clusterJSON(t, mustRun(t, append(base, targets...)...))
	if !out.Succeeded {
		t.Fatalf("report %+v", out)
	}
	for _, n := range out.Nodes {
		mustRun(t, "check", "--root", roots[n.New])
		lacks := n.Old == "10.0.0.9:17912" // its backup lacks bk_trace
		if n.NothingSelected != lacks || n.Result == nil {
			t.Errorf("node %s (old %s): nothing selected %v, result %v", n.New, n.Old, n.NothingSelected, n.Result)
		}
		traces, others := 0, 0
		for p := range listDataTrees(t, roots[n.New]) {
			switch {
			case strings.HasPrefix(p, "trace/data/bk_trace"):
				traces++
			case !strings.HasPrefix(p, "schema-property/") && strings.Count(p, "/") > 1:
				others++
			}
		}
		if (traces > 0) == lacks || others != 0 {
			t.Errorf("node %s (old %s): %d entries of bk_trace, %d of other groups", n.New, n.Old, traces, others)
		}
	}

	roots, targets = newTargets(t, "n0:1", "n1:1", "n2:1")
	out = clusterJSON(t, mustRun(t, append(append(base, "--no-schema"), targets...)...))
	if n := out.Nodes[2]; !out.Succeeded || !n.NothingSelected || n.Result != nil {
		t.Errorf("--no-schema: node %s: nothing selected %v, result %v", n.New, n.NothingSelected, n.Result)
	}
	if _, err := os.Stat(roots["n2:1"]); !os.IsNotExist(err) {
		t.Errorf("--no-schema: a node with nothing selected got a root: %v", err)
	}

	roots, targets = newTargets(t, "n0:1", "n1:1", "n2:1")
	r := run(t, append([]string{"cluster", "restore", "--repo", c.repo, "--set", c.set, "--group", "nosuch"}, targets...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "no node's backup holds any of the selected data") {
		t.Errorf("a group no node holds: exit %d, %s", r.code, r.stderr)
	}
	for _, dir := range roots {
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("a selection matching nothing wrote %s: %v", dir, err)
		}
	}
	plan := clusterJSON(t, mustRun(t, append(append(base, "--plan"), targets...)...))
	if !strings.Contains(plan.SelectionNote, "--catalog schema-property") {
		t.Errorf("--plan with a selection: note %q", plan.SelectionNote)
	}
}

// The printed commands quote what a shell would split or expand, and
// keep what it would not.
func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.2:17912":    "10.0.0.2:17912",
		"/var/lib/banyandb": "/var/lib/banyandb",
		"s3://b/p":          "s3://b/p",
		"a b":               "'a b'",
		"it's":              `'it'\''s'`,
		"$HOME":             "'$HOME'",
		"":                  "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
