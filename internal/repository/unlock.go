package repository

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/banyan-backup/banyan-backup/internal/storage"
)

// LockStatus is one lock RemoveStaleLocks judged.
type LockStatus struct {
	ID        string    `json:"id"`
	Removed   bool      `json:"removed"`
	Reason    string    `json:"reason"` // why it is stale, or live
	Exclusive bool      `json:"exclusive"`
	Operation string    `json:"operation,omitempty"`
	Hostname  string    `json:"hostname,omitempty"`
	PID       int       `json:"pid,omitempty"`
	Time      time.Time `json:"time,omitzero"`
}

// UnlockResult is what RemoveStaleLocks did.
type UnlockResult struct {
	Removed int          `json:"removed"`
	Locks   []LockStatus `json:"locks"`
}

// RemoveStaleLocks deletes the stale locks and the objects under locks/
// that are not readable locks, and says why each lock it keeps is live.
func (r *Repository) RemoveStaleLocks(ctx context.Context) (*UnlockResult, error) {
	var names []string
	err := r.be.List(ctx, "locks/", func(o storage.ObjectInfo) error {
		names = append(names, o.Name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list locks in %s: %w", r.be.Location(), err)
	}
	judge := r.newLockJudge()
	res := &UnlockResult{Locks: []LockStatus{}}
	for _, name := range names {
		st := LockStatus{ID: strings.TrimPrefix(name, "locks/")}
		info, err := r.readLock(ctx, name)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			continue // released meanwhile
		case errors.Is(err, errUnreadableLock):
			st.Removed, st.Reason = true, err.Error()
		case err != nil:
			return nil, err
		default:
			v := judge.judge(info)
			st.Removed, st.Reason = v.stale, v.reason
			st.Exclusive, st.Operation, st.Hostname, st.PID, st.Time = info.Exclusive, info.Operation, info.Hostname, info.PID, info.Time
		}
		if st.Removed {
			if err := r.be.Delete(ctx, name); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, fmt.Errorf("cannot remove lock %s: %w", st.ID, err)
			}
			res.Removed++
		}
		res.Locks = append(res.Locks, st)
	}
	return res, nil
}
