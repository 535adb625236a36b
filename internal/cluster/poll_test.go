package cluster

import (
	"testing"
	"time"
)

// With the default options, the waits between the upload step's status
// polls (and the drain wait's queue reads) double from 50 ms up to a
// quarter of a second and stay there: the end of the slowest upload is
// seen at most that long after it happens.
func TestDefaultPollWaitsAtMostAQuarterSecond(t *testing.T) {
	var o Options
	defaults(&o)
	p := newPoller(o.PollInterval)
	want := []time.Duration{50, 100, 200, 250, 250, 250}
	for i, w := range want {
		if got := p.step(); got != w*time.Millisecond {
			t.Fatalf("wait %d is %v, want %v (all: %v ms)", i, got, w*time.Millisecond, want)
		}
	}
}
