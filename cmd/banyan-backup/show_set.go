package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/engine"
	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// printSet writes one backup set for people.
func printSet(w io.Writer, s engine.BackupSet) error {
	fmt.Fprintf(w, "backup set  %s\ntime        %s\ncluster     %s\n", s.ID, s.Time.Local().Format(time.RFC3339), s.Cluster)
	if s.Coordinator != "" {
		fmt.Fprintf(w, "coordinator %s\n", s.Coordinator)
	}
	fmt.Fprintf(w, "tool        banyan-backup %s\noperation   %s\n", s.ToolVersion, s.Operation)
	if len(s.Tags) > 0 {
		fmt.Fprintf(w, "tags        %s\n", strings.Join(s.Tags, ","))
	}
	fmt.Fprintf(w, "window      %s to %s (%.3fs): every data node's snapshot was taken within it\n",
		s.Window.Start.Local().Format(time.RFC3339Nano), s.Window.End.Local().Format(time.RFC3339Nano), s.WindowSeconds)
	if len(s.Watermark) > 0 {
		cats := make([]string, 0, len(s.Watermark))
		for c := range s.Watermark {
			cats = append(cats, c)
		}
		sort.Strings(cats)
		fmt.Fprint(w, "watermark  ")
		for _, c := range cats {
			fmt.Fprintf(w, " %s %s", c, s.Watermark[c].Local().Format(time.RFC3339))
		}
		fmt.Fprintln(w, ": every write acknowledged before it is in the set")
	}
	if d := s.Drain; d != nil {
		state := "drained"
		if d.TimedOut {
			state = "timed out: the liaisons' queues below were not delivered"
		}
		fmt.Fprintf(w, "drain       waited %.1fs for the liaisons' queues (%s)\n", d.WaitedSeconds, state)
	}
	if s.Schemas > 1 {
		fmt.Fprintf(w, "schema      the data nodes hold %d different schemas: it changed during the window\n", s.Schemas)
	}
	fmt.Fprintf(w, "nodes       %d data, %d in all:\n", s.DataNodes, len(s.Nodes))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tROLE\tBACKUP\tSNAPSHOT\tLACKING\tQUEUE")
	for _, n := range s.Nodes {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Role, shortOrDash(n.Backup), snapshotText(n.Snapshot),
			countOrDash(n.LackingParts), queueText(n.Queue))
	}
	return tw.Flush()
}

func shortOrDash(id *repository.ID) string {
	if id == nil {
		return "-"
	}
	return id.Short()
}

func countOrDash(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

// snapshotText is a node's snapshot call: its start and duration.
func snapshotText(sw *repository.SnapshotWindow) string {
	if sw == nil {
		return "-"
	}
	return fmt.Sprintf("%s +%.3fs", sw.Start.Local().Format("15:04:05.000"), sw.End.Sub(sw.Start).Seconds())
}

// queueText is what a liaison had not delivered.
func queueText(q *repository.LiaisonQueue) string {
	if q == nil {
		return "-"
	}
	out := fmt.Sprintf("%d parts queued (%s)", q.Parts, humanBytes(q.Bytes))
	if q.Drained {
		out = "drained"
	}
	if q.FailedParts > 0 {
		out += fmt.Sprintf(", %d failed parts (%s) never delivered", q.FailedParts, humanBytes(q.FailedBytes))
	}
	return out
}
