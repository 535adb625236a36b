package progress

import (
	"sync"
	"time"
)

// Defaults of a Meter.
const (
	// DefaultWindow is how far back a rate looks.
	DefaultWindow = 5 * time.Second
	// rateAfter is how long a phase runs before its rate is shown.
	rateAfter = time.Second
	// etaAfter and etaDone are how long a phase runs, and which part of
	// it is done, before an estimate of the time left is shown: early
	// rates say little about the rest.
	etaAfter = 5 * time.Second
	etaDone  = 0.01
	// sampleEvery spaces the samples a rate is computed from.
	sampleEvery = 100 * time.Millisecond
)

// Status is a phase's progress at one moment.
type Status struct {
	Phase string
	// Items and Bytes are the phase's totals (0: unknown); DoneItems and
	// DoneBytes what is done.
	Items, Bytes         int64
	DoneItems, DoneBytes int64
	Elapsed              time.Duration
	// Rate is bytes per second over the last window (items per second
	// when the phase counts no bytes), at most the meter's MaxRate; valid
	// when RateKnown, after the phase's first second.
	Rate      float64
	RateKnown bool
	// Left is the estimated time to the end at Rate; valid when LeftKnown,
	// once the phase has run 5 seconds and done 1% of its work.
	Left      time.Duration
	LeftKnown bool
}

// Fraction is the part of the phase done, by bytes when it counts bytes,
// else by items; -1 when the totals are unknown.
func (s Status) Fraction() float64 {
	switch {
	case s.Bytes > 0:
		return min(1, float64(s.DoneBytes)/float64(s.Bytes))
	case s.Items > 0:
		return min(1, float64(s.DoneItems)/float64(s.Items))
	}
	return -1
}

// Meter follows one phase at a time: its totals, what is done, and its rate
// over a sliding window, so that a burst (a rate limiter's bucket filled
// while nothing was read, files counted when done) does not show as a rate
// the work does not keep. Times are passed in. It is safe for concurrent
// use.
type Meter struct {
	// Window is how far back the rate looks (0: DefaultWindow).
	Window time.Duration
	// MaxRate caps the rate shown (0: none): a limit the work is held to
	// over any long span, such as --limit-read for a backup's bytes.
	MaxRate float64

	mu      sync.Mutex
	st      Status
	started time.Time
	samples []sample // oldest first; the first at or before the window's start
}

type sample struct {
	at           time.Time
	items, bytes int64
}

// Start begins a phase with its totals (0: unknown).
func (m *Meter) Start(phase string, items, bytes int64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st = Status{Phase: phase, Items: items, Bytes: bytes}
	m.started = now
	m.samples = append(m.samples[:0], sample{at: now})
}

// Advance adds done items and bytes.
func (m *Meter) Advance(items, bytes int64, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.DoneItems += items
	m.st.DoneBytes += bytes
	if len(m.samples) == 0 {
		return // not started
	}
	if last := m.samples[len(m.samples)-1]; now.Sub(last.at) >= sampleEvery {
		m.record(now)
	}
}

// record adds a sample of now and drops those the window no longer needs.
func (m *Meter) record(now time.Time) {
	if n := len(m.samples); n > 0 && !now.After(m.samples[n-1].at) {
		m.samples[n-1].items, m.samples[n-1].bytes = m.st.DoneItems, m.st.DoneBytes
	} else {
		m.samples = append(m.samples, sample{at: now, items: m.st.DoneItems, bytes: m.st.DoneBytes})
	}
	from := now.Add(-m.window())
	drop := 0
	for drop+1 < len(m.samples) && !m.samples[drop+1].at.After(from) {
		drop++
	}
	m.samples = append(m.samples[:0], m.samples[drop:]...)
}

func (m *Meter) window() time.Duration {
	if m.Window > 0 {
		return m.Window
	}
	return DefaultWindow
}

// Status returns the phase's progress at now.
func (m *Meter) Status(now time.Time) Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.samples == nil {
		return Status{}
	}
	m.record(now)
	st := m.st
	st.Elapsed = now.Sub(m.started)
	base := m.samples[0]
	span := now.Sub(base.at).Seconds()
	if st.Elapsed < rateAfter || span <= 0 {
		return st
	}
	done, total, baseDone := st.DoneBytes, st.Bytes, base.bytes
	byItems := st.Bytes == 0 && st.DoneBytes == 0
	if byItems {
		done, total, baseDone = st.DoneItems, st.Items, base.items
	}
	st.Rate, st.RateKnown = float64(done-baseDone)/span, true
	if m.MaxRate > 0 && !byItems {
		st.Rate = min(st.Rate, m.MaxRate)
	}
	if total > 0 && st.Rate > 0 && st.Elapsed >= etaAfter && float64(done) >= etaDone*float64(total) {
		st.Left = time.Duration(float64(max(total-done, 0)) / st.Rate * float64(time.Second))
		st.LeftKnown = true
	}
	return st
}
