package main

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
	"github.com/banyan-backup/banyan-backup/internal/retention"
)

// forgetFlags are forget's options.
type forgetFlags struct {
	policy    retention.Policy
	tags      []string
	groupBy   []string
	timeZone  string
	dryRun    bool
	prune     bool
	maxRepack string
}

// forgetJSON is what `forget --json` prints.
type forgetJSON struct {
	DryRun  bool                    `json:"dry_run"`
	Policy  string                  `json:"policy,omitempty"`
	Groups  []engine.RetentionGroup `json:"groups"`
	Removed []string                `json:"removed"`
	// RemovedSets are the backup sets removed whole, with their members.
	RemovedSets []string                `json:"removed_sets"`
	Prune       *repository.PruneResult `json:"prune,omitempty"`
}

func newForgetCmd(g *globals) *cobra.Command {
	f := &forgetFlags{}
	cmd := &cobra.Command{
		Use:   "forget [ID...]",
		Short: "Remove backups by id or by a retention policy (prune then frees their data)",
		Long: `Remove the backups given by id, or those a retention policy does not keep.
Only the backups' manifests are deleted; run prune (or give --prune) to free
the data no remaining backup needs.

Backups are grouped by host and source (--group-by), and the policy applies
to each group on its own: the host is the node a backup is of (backup
--host, or the host of its --node, or the hostname of the machine that ran it
for a node on localhost or a stopped node), the source its data roots. Within a group, looking at the backups newest
first, a backup is kept when any rule keeps it:

  --keep-last N       the N newest backups
  --keep-hourly N     the newest backup of each of the N newest hours that have one
  --keep-daily N      … days, --keep-weekly N (ISO weeks, from Monday),
  --keep-monthly N    … months, --keep-yearly N … years
  --keep-within D     every backup less than D older than the group's newest
                      backup (D: 30d, 12h, 6m, 1y, 2y5m7d3h)
  --keep-tag a,b      every backup having tags a and b (repeatable)

A count of -1 keeps all (every hour, day …). When a rule has counts left
after the oldest backup, the oldest backup is kept too. Hours, days, weeks,
months and years are calendar periods in --time-zone (default: local).
The output lists every kept backup with the rules that keep it.

Backup sets (cluster backups) are judged as units, in groups of the sets of
one cluster: a set is kept or removed whole, with all its node backups, and a
node backup of a set is never judged on its own. Given ids, a set's id
removes the set with its members; a member's id is refused.`,
		Example: `  banyan-backup forget --keep-hourly 24 --keep-daily 7 --keep-weekly 4 --keep-monthly 6 --dry-run
  banyan-backup forget --keep-within 30d --keep-tag release --prune
  banyan-backup forget 3f2a9c1e 77b0e4d2`,
		Args: argsUsage(cobra.ArbitraryArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runForget(cmd, g, f, args)
		},
	}
	fl := cmd.Flags()
	p := &f.policy
	fl.IntVar(&p.Last, "keep-last", 0, "keep the N newest backups")
	fl.IntVar(&p.Hourly, "keep-hourly", 0, "keep the newest backup of each of the N newest hours")
	fl.IntVar(&p.Daily, "keep-daily", 0, "keep the newest backup of each of the N newest days")
	fl.IntVar(&p.Weekly, "keep-weekly", 0, "keep the newest backup of each of the N newest ISO weeks")
	fl.IntVar(&p.Monthly, "keep-monthly", 0, "keep the newest backup of each of the N newest months")
	fl.IntVar(&p.Yearly, "keep-yearly", 0, "keep the newest backup of each of the N newest years")
	fl.Var(withinFlag{&p.Within}, "keep-within", "keep backups less than this older than the newest: y years, m months, d days, h hours (30d, 6m, 2y5m7d3h)")
	fl.StringArrayVar(&f.tags, "keep-tag", nil, "keep backups having all these comma-separated tags (repeatable)")
	fl.StringSliceVar(&f.groupBy, "group-by", []string{"host", "source"}, "judge backups in groups with the same: host, source, tags (empty: one group)")
	fl.StringVar(&f.timeZone, "time-zone", "Local", "time zone of the hours, days, weeks, months and years (e.g. UTC)")
	fl.BoolVarP(&f.dryRun, "dry-run", "n", false, "only show what would be removed")
	fl.BoolVar(&f.prune, "prune", false, "run prune after removing backups")
	addMaxRepackFlag(cmd, &f.maxRepack)
	return cmd
}

func runForget(cmd *cobra.Command, g *globals, f *forgetFlags, args []string) error {
	policy := f.policy
	for _, t := range f.tags {
		list := strings.Split(t, ",")
		if slices.Contains(list, "") {
			return usagef("invalid --keep-tag %q: give one or more tags separated by commas", t)
		}
		policy.Tags = append(policy.Tags, list)
	}
	if err := policy.Validate(); err != nil {
		return usageError{err}
	}
	switch {
	case len(args) > 0 && !policy.Empty():
		return usagef("give either backup ids or a retention policy (--keep-…), not both")
	case len(args) == 0 && policy.Empty():
		return usagef("nothing to forget: give backup ids or a retention policy such as --keep-daily 7 (see --help)")
	}
	if err := engine.CheckGroupBy(f.groupBy); err != nil {
		return usagef("invalid --group-by: %v, separated by commas", err)
	}
	loc, err := time.LoadLocation(f.timeZone)
	if err != nil {
		return usagef("unknown --time-zone %q: %v", f.timeZone, err)
	}
	policy.Location = loc
	maxRepack, err := parseMaxRepack(f.maxRepack)
	if err != nil {
		return err
	}

	ctx := cmd.Context()
	repo, err := g.openRepo(ctx)
	if err != nil {
		return err
	}
	defer repo.Close()
	lock, err := repo.Lock(ctx, "forget", true)
	if err != nil {
		return err
	}
	defer lock.Unlock(ctx)
	out := forgetJSON{DryRun: f.dryRun, Groups: []engine.RetentionGroup{}, Removed: []string{}, RemovedSets: []string{}}
	sets, err := repo.Sets(ctx)
	if err != nil {
		return err
	}
	var remove, removeSets []repository.ID
	if len(args) > 0 {
		if remove, removeSets, err = forgetRefs(cmd, repo, sets, args); err != nil {
			return err
		}
	} else {
		backups, err := repo.Backups(ctx)
		if err != nil {
			return err
		}
		out.Policy = policy.String()
		judged := engine.ApplyRetention(policy, backups, sets, f.groupBy, repo.Now())
		out.Groups, remove, removeSets = judged.Groups, judged.Remove, judged.RemoveSets
	}
	for _, id := range remove {
		out.Removed = append(out.Removed, id.String())
	}
	for _, id := range removeSets {
		out.RemovedSets = append(out.RemovedSets, id.String())
	}
	if !f.dryRun {
		if err := repo.RemoveSets(ctx, lock, removeSets); err != nil {
			return err
		}
		if err := repo.RemoveBackups(ctx, lock, remove); err != nil {
			return err
		}
	}
	w := cmd.OutOrStdout()
	if !g.json {
		printForget(w, out, loc)
	}
	if f.prune && !f.dryRun {
		res, err := repo.Prune(ctx, lock, repository.PruneOptions{MaxRepack: maxRepack, Progress: newProgress(g, os.Stderr)})
		if err != nil {
			return fmt.Errorf("backups removed, but prune failed (run `banyan-backup prune` again): %w", err)
		}
		out.Prune = res
		if !g.json {
			printPrune(w, res)
		}
	}
	if g.json {
		return printJSON(w, out)
	}
	return nil
}

// printForget writes forget's decisions for people.
func printForget(w io.Writer, out forgetJSON, loc *time.Location) {
	if out.Policy != "" {
		fmt.Fprintf(w, "policy: %s\n", out.Policy)
	}
	table := func(title string, list []engine.Judged, reasons bool) {
		if len(list) == 0 {
			return
		}
		fmt.Fprintf(w, "%s %d %s:\n", title, len(list), unitName(list))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		header := "  ID\tTIME\tTAGS"
		if reasons {
			header += "\tREASONS"
		}
		fmt.Fprintln(tw, header)
		for _, e := range list {
			id := e.ShortID
			if e.Set {
				id += fmt.Sprintf(" (set of %d)", len(e.Members))
			}
			line := fmt.Sprintf("  %s\t%s\t%s", id, e.Time.In(loc).Format("2006-01-02 15:04:05"), strings.Join(e.Tags, ","))
			if reasons {
				line += "\t" + strings.Join(e.Reasons, ", ")
			}
			fmt.Fprintln(tw, line)
		}
		tw.Flush()
	}
	for _, grp := range out.Groups {
		var desc []string
		if grp.Sets {
			desc = append(desc, "backup sets")
		}
		if grp.Cluster != "" {
			desc = append(desc, "cluster "+grp.Cluster)
		}
		if grp.Host != "" {
			desc = append(desc, "host "+grp.Host)
		}
		if grp.Source != "" {
			desc = append(desc, "source "+shortSource(grp.Source))
		}
		if grp.Tags != nil {
			desc = append(desc, "tags ["+strings.Join(grp.Tags, ",")+"]")
		}
		if len(desc) > 0 {
			fmt.Fprintf(w, "group: %s\n", strings.Join(desc, ", "))
		}
		table("keep", grp.Keep, true)
		table("remove", grp.Remove, false)
	}
	sets := ""
	if len(out.RemovedSets) > 0 {
		sets = fmt.Sprintf(" and %d backup sets with their members", len(out.RemovedSets))
	}
	switch {
	case out.DryRun:
		fmt.Fprintf(w, "dry run: would remove %d backups%s\n", len(out.Removed), sets)
	default:
		fmt.Fprintf(w, "removed %d backups%s\n", len(out.Removed), sets)
	}
}

// unitName says what a list of judged entries holds.
func unitName(list []engine.Judged) string {
	sets := 0
	for _, e := range list {
		if e.Set {
			sets++
		}
	}
	switch sets {
	case 0:
		return "backups"
	case len(list):
		return "backup sets"
	}
	return "backups and sets"
}

// forgetRefs resolves the ids given to forget: a set's id removes the set
// with its members; a member's id is refused (a set goes whole); any other
// backup id removes that backup.
func forgetRefs(cmd *cobra.Command, repo *engine.Repo, sets []repository.BackupSet, refs []string) (backups, setIDs []repository.ID, err error) {
	ctx := cmd.Context()
	members := repository.Membership(sets)
	for _, ref := range refs {
		s, setErr := repo.FindSet(ctx, ref)
		b, backupErr := repo.FindBackup(ctx, ref)
		switch {
		case setErr == nil && backupErr == nil:
			return nil, nil, usagef("%q is the prefix of both backup set %s and backup %s: give more digits", ref, s.ID.Short(), b.ID.Short())
		case setErr == nil:
			if !slices.Contains(setIDs, s.ID) {
				setIDs = append(setIDs, s.ID)
			}
		case backupErr != nil:
			return nil, nil, backupErr
		default:
			if set, ok := members[b.ID]; ok {
				return nil, nil, usagef("backup %s belongs to backup set %s, which is kept or removed whole: forget %s", b.ID.Short(), set.Short(), set.Short())
			}
			if !slices.Contains(backups, b.ID) {
				backups = append(backups, b.ID)
			}
		}
	}
	return backups, setIDs, nil
}

// shortSource shortens "root measure=/r/measure/data stream=/r/stream/data …"
// to "root /r" when every catalog lies in its usual place under one root.
func shortSource(s string) string {
	typ, rest, ok := strings.Cut(s, " ")
	if !ok || typ != "root" {
		return s
	}
	common := ""
	for _, f := range strings.Fields(rest) {
		cat, dir, ok := strings.Cut(f, "=")
		suffix := "/" + cat + "/data"
		if !ok || !strings.HasSuffix(dir, suffix) {
			return s
		}
		top := strings.TrimSuffix(dir, suffix)
		if common != "" && top != common {
			return s
		}
		common = top
	}
	if common == "" {
		return s
	}
	return "root " + common
}

// withinFlag is --keep-within: a retention.Duration whose zero value shows
// no default in --help.
type withinFlag struct{ d *retention.Duration }

func (f withinFlag) String() string {
	if f.d == nil || f.d.Zero() {
		return ""
	}
	return f.d.String()
}

func (f withinFlag) Set(s string) error { return f.d.Set(s) }
func (f withinFlag) Type() string       { return "duration" }
