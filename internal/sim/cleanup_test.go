package sim

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	databasev1 "github.com/banyan-backup/banyan-backup/api/gen/banyandb/database/v1"
)

func TestStaleSnapshotCleanup(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	)
	s := startServer(t, func(c *Config) {
		c.MaxFileSnapshotNum = 3
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	ctx := context.Background()
	for range 5 {
		if _, err := s.Snapshot(ctx, &databasev1.SnapshotRequest{}); err != nil {
			t.Fatal(err)
		}
	}
	// More than 3, but none older than an hour: all kept.
	if n := snapshotCount(t, s.Root(), "measure"); n != 5 {
		t.Fatalf("%d measure snapshots, want 5", n)
	}
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if _, err := s.Snapshot(ctx, &databasev1.SnapshotRequest{}); err != nil {
		t.Fatal(err)
	}
	want := []string{"20261123120000-00000004", "20261123120000-00000005", "20261123140000-00000006"}
	for _, c := range []string{"measure", "stream", "trace", "property", "schema-property"} {
		got := listNames(t, filepath.Join(s.Root(), c, "snapshots"), func(fs.DirEntry) bool { return true })
		if !slices.Equal(got, want) {
			t.Errorf("%s snapshots %v, want %v", c, got, want)
		}
	}
	if st := s.Stats(); st.SnapshotsDeleted != 15 || st.SnapshotsTaken != 30 {
		t.Errorf("stats: %d deleted, %d taken; want 15 and 30", st.SnapshotsDeleted, st.SnapshotsTaken)
	}
}
