package cluster_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/cluster"
)

// The watermark is min(t0, q) minus the liaison's and the data node's
// flush timeouts, per catalog (docs/cluster.md, The watermark).
func TestWatermark(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
	fl := map[string]time.Duration{"measure": 5 * time.Second, "stream": time.Second}
	fd := map[string]time.Duration{"measure": 2 * time.Second, "stream": time.Second, "trace": 3 * time.Second}
	got := cluster.Watermark(t0, nil, fl, fd)
	want := map[string]time.Time{"measure": t0.Add(-7 * time.Second), "stream": t0.Add(-2 * time.Second), "trace": t0.Add(-3 * time.Second)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("drained: %v, want %v", got, want)
	}
	q := t0.Add(-time.Minute)
	if got := cluster.Watermark(t0, &q, fl, fd); !got["measure"].Equal(q.Add(-7 * time.Second)) {
		t.Errorf("with a part queued since %v: %v", q, got)
	}
	later := t0.Add(time.Minute)
	if got := cluster.Watermark(t0, &later, fl, fd); !got["measure"].Equal(t0.Add(-7 * time.Second)) {
		t.Errorf("with the oldest part after t0: %v", got)
	}
}
