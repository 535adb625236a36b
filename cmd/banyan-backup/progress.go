package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/banyan-backup/banyan-backup/internal/progress"
)

// defaultProgressInterval spaces progress lines off a terminal.
const defaultProgressInterval = 10 * time.Second

// redrawEvery spaces the redraws of a terminal's progress line.
const redrawEvery = 500 * time.Millisecond

// checkProgress refuses a negative --progress-interval (or
// BANYAN_BACKUP_PROGRESS_INTERVAL, which flagsFromEnv has read).
func (g *globals) checkProgress() error {
	if g.progressEvery < 0 {
		return usagef("invalid --progress-interval %v: want a duration such as 10s or 1m (0: no progress lines)", g.progressEvery)
	}
	return nil
}

// newProgress returns how a command shows progress on w: nothing with
// --quiet; a line redrawn in place on a terminal; else, and with --json, a
// line (a JSON object with --json) every --progress-interval, so that a
// log (a CronJob's, systemd's) shows long work going on.
func newProgress(g *globals, w *os.File) progress.Reporter {
	return newRateCappedProgress(g, w, 0)
}

// newRateCappedProgress is newProgress for work whose bytes are held to
// maxRate per second (0: none): the rate shown is never above it.
func newRateCappedProgress(g *globals, w *os.File, maxRate float64) progress.Reporter {
	d := &display{w: w, meter: progress.Meter{MaxRate: maxRate}, now: time.Now}
	switch {
	case g.quiet:
		return progress.Nop{}
	case g.json && g.progressEvery > 0:
		d.mode, d.every = modeJSON, g.progressEvery
	case g.json:
		return progress.Nop{}
	case isTerminal(w):
		d.mode, d.every = modeTerminal, redrawEvery
	case g.progressEvery > 0:
		d.mode, d.every = modeLines, g.progressEvery
	default:
		return progress.Nop{}
	}
	return d
}

func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// displayMode is how a display writes.
type displayMode int

const (
	modeTerminal displayMode = iota // one line redrawn in place
	modeLines                       // a plain line every interval
	modeJSON                        // a JSON object per line every interval
)

// display shows the progress of one phase at a time: a ticker, started by
// Start and stopped by Done, writes the meter's status every interval.
// Advance only counts, so it costs the work almost nothing.
type display struct {
	w     io.Writer
	mode  displayMode
	every time.Duration
	meter progress.Meter
	now   func() time.Time

	mu      sync.Mutex // Start and Done, and writes
	printed bool       // this phase has shown a line
	stop    chan struct{}
	stopped chan struct{}
}

// Start implements progress.Reporter.
func (d *display) Start(phase string, items, bytes int64) {
	d.Done()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.meter.Start(phase, items, bytes, d.now())
	d.printed = false
	d.stop, d.stopped = make(chan struct{}), make(chan struct{})
	go d.tick(d.stop, d.stopped)
}

// Advance implements progress.Reporter.
func (d *display) Advance(items, bytes int64) {
	d.meter.Advance(items, bytes, d.now())
}

// Done implements progress.Reporter: a phase that showed a line shows its
// end.
func (d *display) Done() {
	d.mu.Lock()
	stop, stopped := d.stop, d.stopped
	d.stop = nil
	d.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-stopped
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.printed {
		d.write(d.meter.Status(d.now()), true)
	}
}

func (d *display) tick(stop <-chan struct{}, stopped chan<- struct{}) {
	defer close(stopped)
	t := time.NewTicker(d.every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.mu.Lock()
			d.write(d.meter.Status(d.now()), false)
			d.printed = true
			d.mu.Unlock()
		}
	}
}

// write shows st; done marks the phase's end.
func (d *display) write(st progress.Status, done bool) {
	switch d.mode {
	case modeTerminal:
		fmt.Fprintf(d.w, "\r\033[K%s", statusText(st, done))
		if done {
			fmt.Fprintln(d.w)
		}
	case modeLines:
		fmt.Fprintf(d.w, "progress: %s, %s elapsed\n", statusText(st, done), st.Elapsed.Round(time.Second))
	case modeJSON:
		b, err := json.Marshal(statusJSON(st, done))
		if err == nil {
			fmt.Fprintf(d.w, "%s\n", b)
		}
	}
}

// itemNoun is what a phase counts.
func itemNoun(phase string) string {
	switch phase {
	case "backup", "restore":
		return "files"
	case "verify", "repack":
		return "packs"
	case "mark":
		return "backups"
	}
	return "items"
}

// statusText is "backup 31%: 1234/5678 files, 1.2 GiB/4.0 GiB, 48.0 MiB/s,
// 1m2s left", with what is known.
func statusText(st progress.Status, done bool) string {
	var b strings.Builder
	b.WriteString(st.Phase)
	if done {
		b.WriteString(" done")
	} else if f := st.Fraction(); f >= 0 {
		fmt.Fprintf(&b, " %.0f%%", 100*f)
	}
	if st.Items == 0 && st.Bytes == 0 && st.DoneItems == 0 && st.DoneBytes == 0 {
		return b.String()
	}
	noun := itemNoun(st.Phase)
	fmt.Fprintf(&b, ": %d/%d %s", st.DoneItems, st.Items, noun)
	byItems := st.Bytes == 0 && st.DoneBytes == 0
	if !byItems {
		fmt.Fprintf(&b, ", %s/%s", humanBytes(st.DoneBytes), humanBytes(st.Bytes))
	}
	if done || !st.RateKnown {
		return b.String()
	}
	if byItems {
		fmt.Fprintf(&b, ", %.1f %s/s", st.Rate, noun)
	} else {
		fmt.Fprintf(&b, ", %s/s", humanBytes(int64(st.Rate)))
	}
	if st.LeftKnown {
		fmt.Fprintf(&b, ", %s left", st.Left.Round(time.Second))
	}
	return b.String()
}

// progressJSON is a progress line with --json.
type progressJSON struct {
	MessageType      string   `json:"message_type"` // "status"
	Phase            string   `json:"phase"`
	Done             bool     `json:"done,omitempty"` // the phase's last line
	SecondsElapsed   float64  `json:"seconds_elapsed"`
	PercentDone      *float64 `json:"percent_done,omitempty"` // 0 to 1
	ItemsDone        int64    `json:"items_done"`
	ItemsTotal       int64    `json:"items_total"`
	BytesDone        int64    `json:"bytes_done"`
	BytesTotal       int64    `json:"bytes_total"`
	BytesPerSecond   *float64 `json:"bytes_per_second,omitempty"`
	ItemsPerSecond   *float64 `json:"items_per_second,omitempty"`
	SecondsRemaining *float64 `json:"seconds_remaining,omitempty"`
}

func statusJSON(st progress.Status, done bool) progressJSON {
	out := progressJSON{MessageType: "status", Phase: st.Phase, Done: done, SecondsElapsed: st.Elapsed.Seconds(),
		ItemsDone: st.DoneItems, ItemsTotal: st.Items, BytesDone: st.DoneBytes, BytesTotal: st.Bytes}
	if f := st.Fraction(); f >= 0 {
		out.PercentDone = &f
	}
	if st.RateKnown && !done {
		rate := st.Rate
		if st.Bytes == 0 && st.DoneBytes == 0 {
			out.ItemsPerSecond = &rate
		} else {
			out.BytesPerSecond = &rate
		}
	}
	if st.LeftKnown && !done {
		left := st.Left.Seconds()
		out.SecondsRemaining = &left
	}
	return out
}
