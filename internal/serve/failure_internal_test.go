package serve

import (
	"context"
	"fmt"
	"testing"

	"github.com/banyan-backup/banyan-backup/internal/repository"
)

// TestFailureKind checks the kind label of failures_total for the errors
// a run can end with, wrapped as the stages wrap them.
func TestFailureKind(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("cannot back up: %w", repository.ErrLocked), "locked"},
		// A lock removed by another process's prune or unlock while the
		// backup ran is a lock problem, not a failure of the backup.
		{fmt.Errorf("cannot commit backup: %w", repository.ErrLockLost), "locked"},
		{fmt.Errorf("cannot verify: %w", repository.ErrIntegrity), "integrity"},
		{context.Canceled, "cancelled"},
		{&stageError{kind: "retention", err: fmt.Errorf("cannot forget")}, "retention"},
		{fmt.Errorf("cannot read root"), "backup"},
	} {
		if got := failureKind(c.err); got != c.want {
			t.Errorf("failureKind(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
