package progress_test

import (
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/progress"
)

const mb = 1 << 20

// at is a moment s seconds into a phase.
func at(s float64) time.Time {
	return time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Add(time.Duration(s * float64(time.Second)))
}

// limited feeds m what a reader held to 1 MiB/s does after a scan left its
// bucket full: 1 MiB at once, then 1 MiB a second in 64 KiB reads, up to
// second end.
func limited(m *progress.Meter, end float64) {
	m.Advance(0, mb, at(0.01))
	for s := 0.0625; s <= end; s += 0.0625 {
		m.Advance(0, mb/16, at(s))
	}
}

func TestMeterRateIsTheLastWindowsAndNoMoreThanTheLimit(t *testing.T) {
	var free progress.Meter // no MaxRate: the window alone
	free.Start("backup", 100, 1000*mb, at(0))
	limited(&free, 4)
	if st := free.Status(at(4)); !st.RateKnown || st.Rate < 1.2*mb {
		t.Errorf("rate over the first 4 s with a burst: %.2f MiB/s, want the burst counted (5 MiB in 4 s)", st.Rate/mb)
	}
	limited(&free, 12)
	if st := free.Status(at(12)); st.Rate < 0.99*mb || st.Rate > 1.01*mb {
		t.Errorf("rate once the burst left the window: %.3f MiB/s, want 1", st.Rate/mb)
	}

	capped := progress.Meter{MaxRate: mb}
	capped.Start("backup", 100, 1000*mb, at(0))
	limited(&capped, 2)
	if st := capped.Status(at(2)); st.Rate > mb {
		t.Errorf("rate %.2f MiB/s above the 1 MiB/s limit", st.Rate/mb)
	}
	if st := capped.Status(at(30)); !st.RateKnown || st.Rate != 0 {
		t.Errorf("rate after 28 s without progress: %.2f, want 0", st.Rate)
	}
}

func TestMeterShowsNoRateOrTimeLeftTooEarly(t *testing.T) {
	var m progress.Meter
	m.Start("backup", 10, 1000*mb, at(0))
	m.Advance(1, mb/2, at(0.5))
	if st := m.Status(at(0.5)); st.RateKnown || st.LeftKnown {
		t.Errorf("after 0.5 s: rate %v (%v), left %v (%v); want neither", st.Rate, st.RateKnown, st.Left, st.LeftKnown)
	}
	m.Advance(0, mb/2, at(1))
	for s := 1.0; s < 5; s += 0.5 {
		m.Advance(0, mb, at(s))
	}
	if st := m.Status(at(4.9)); !st.RateKnown || st.LeftKnown {
		t.Errorf("after 4.9 s: rate known %v, left known %v; want the rate only", st.RateKnown, st.LeftKnown)
	}
	if st := m.Status(at(6)); st.LeftKnown {
		t.Errorf("after 6 s with %.1f%% done: %v left; want no estimate below 1%%", 100*st.Fraction(), st.Left)
	}
	for s := 6.0; s <= 10; s += 0.5 {
		m.Advance(0, mb, at(s))
	}
	st := m.Status(at(10))
	if !st.LeftKnown || st.Left < 8*time.Minute || st.Left > 10*time.Minute {
		t.Errorf("after 10 s at 2 MiB/s with %d MiB of 1000 done: %v left, want about 8 minutes", st.DoneBytes/mb, st.Left)
	}
}

func TestMeterCountsItemsWhenAPhaseHasNoBytes(t *testing.T) {
	var m progress.Meter
	m.Start("mark", 100, 0, at(0))
	for s := 1.0; s <= 10; s++ {
		m.Advance(2, 0, at(s))
	}
	st := m.Status(at(10))
	if st.Fraction() != 0.2 || st.Rate != 2 || !st.LeftKnown || st.Left != 40*time.Second {
		t.Errorf("items: %.2f done at %.1f/s, %v left; want 0.2 at 2/s, 40s left", st.Fraction(), st.Rate, st.Left)
	}
}

// BenchmarkMeterAdvance is what counting one read costs a backup's workers
// (the CLI's display calls Advance with time.Now() on every read).
func BenchmarkMeterAdvance(b *testing.B) {
	var m progress.Meter
	m.Start("backup", 1<<20, 1<<40, time.Now())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Advance(0, 1<<20, time.Now())
		}
	})
}
