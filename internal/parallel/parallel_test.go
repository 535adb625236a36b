package parallel

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestForEachVisitsEveryItemOnce(t *testing.T) {
	items := make([]int, 1000)
	for i := range items {
		items[i] = i
	}
	var sum, workers atomic.Int64
	err := ForEach(context.Background(), 4, items, func() func(context.Context, int) error {
		workers.Add(1)
		return func(_ context.Context, i int) error { sum.Add(int64(i)); return nil }
	})
	if err != nil || sum.Load() != 999*1000/2 || workers.Load() != 4 {
		t.Fatalf("err %v, sum %d, workers %d", err, sum.Load(), workers.Load())
	}
}

func TestForEachStopsAtTheFirstError(t *testing.T) {
	boom := errors.New("boom")
	var after atomic.Int64
	err := ForEach(context.Background(), 1, []int{1, 2, 3, 4}, func() func(context.Context, int) error {
		return func(ctx context.Context, i int) error {
			if i == 2 {
				return boom
			}
			if i > 2 && ctx.Err() == nil {
				after.Add(1)
			}
			return nil
		}
	})
	if !errors.Is(err, boom) || after.Load() != 0 {
		t.Fatalf("err %v, %d items worked on after the error with a live context", err, after.Load())
	}
}

func TestForEachReturnsTheContextError(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := ForEach(ctx, 2, []int{1, 2, 3}, func() func(context.Context, int) error {
		return func(context.Context, int) error { return nil }
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}
