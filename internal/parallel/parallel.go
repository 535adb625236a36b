// Package parallel runs work on a fixed number of goroutines.
package parallel

import (
	"context"
	"sync"
)

// ForEach calls a worker for every item, on n goroutines (at least one).
// newWorker is called once per goroutine, so a worker can keep buffers of
// its own. The first error cancels the context the workers see and is
// returned; when ctx ends first, its error is returned.
func ForEach[T any](ctx context.Context, n int, items []T, newWorker func() func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	jobs := make(chan T)
	for range max(n, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work := newWorker()
			for item := range jobs {
				if err := work(ctx, item); err != nil {
					once.Do(func() { firstErr = err; cancel() })
				}
			}
		}()
	}
feed:
	for _, item := range items {
		select {
		case jobs <- item:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// Positions returns 0, 1, …, n-1: the items of a ForEach over the
// positions of a slice, whose workers write their results in place.
func Positions(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
