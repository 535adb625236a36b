package sim

import (
	"os"
	"path/filepath"
	"testing"
)

// A merged part that a snapshot still has to link stays on disk until the
// snapshot unpins it, and is deleted then.
func TestPinnedPartOutlivesMergeUntilUnpinned(t *testing.T) {
	s := &Server{pins: map[string]int{}}
	dir := filepath.Join(t.TempDir(), "0000000000000001")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	lists := []*linkList{{jobs: [][2]string{{dir, filepath.Join(t.TempDir(), "link")}}}}
	s.pin(lists, 1)
	if err := s.removePart(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("a pinned part was deleted by the merge: %v", err)
	}
	if next := (&linkList{doomed: s.doomed}); !next.isDoomed(dir) {
		t.Error("a later snapshot would include the merged part")
	}
	if err := lists[0].run(); err != nil {
		t.Fatalf("linking the pinned part: %v", err)
	}
	s.pin(lists, -1)
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the merged part was not deleted after the snapshot: %v", err)
	}
	if len(s.pins) != 0 || len(s.doomed) != 0 {
		t.Errorf("pins %v, doomed %v left", s.pins, s.doomed)
	}
}
