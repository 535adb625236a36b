package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/banyan-backup/banyan-backup/internal/progress"
)

// newProgress returns a terminal progress line on w when w is a terminal
// and neither --json nor --quiet was given; otherwise a no-op.
func newProgress(g *globals, w *os.File) progress.Reporter {
	if g.json || g.quiet || !isTerminal(w) {
		return progress.Nop{}
	}
	return &termProgress{w: w}
}

func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// termProgress redraws one status line at most twice a second.
type termProgress struct {
	w                    io.Writer
	mu                   sync.Mutex
	phase                string
	items, bytes         int64
	doneItems, doneBytes int64
	started, lastPrinted time.Time
}

func (p *termProgress) Start(phase string, items, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase, p.items, p.bytes, p.doneItems, p.doneBytes = phase, items, bytes, 0, 0
	p.started = time.Now()
}

func (p *termProgress) Advance(items, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doneItems += items
	p.doneBytes += bytes
	if time.Since(p.lastPrinted) >= 500*time.Millisecond {
		p.print()
	}
}

func (p *termProgress) Done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.lastPrinted.IsZero() {
		p.print()
		fmt.Fprintln(p.w)
	}
}

func (p *termProgress) print() {
	p.lastPrinted = time.Now()
	el := time.Since(p.started).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.doneBytes) / el
	}
	line := fmt.Sprintf("%s: %d/%d files, %s/%s, %s/s", p.phase, p.doneItems, p.items, humanBytes(p.doneBytes), humanBytes(p.bytes), humanBytes(int64(rate)))
	if p.bytes > 0 {
		line += fmt.Sprintf(" (%.0f%%)", 100*float64(p.doneBytes)/float64(p.bytes))
		if rate > 0 && p.doneBytes < p.bytes {
			line += fmt.Sprintf(", %s left", time.Duration(float64(p.bytes-p.doneBytes)/rate*float64(time.Second)).Round(time.Second))
		}
	}
	fmt.Fprintf(p.w, "\r\033[K%s", line)
}
