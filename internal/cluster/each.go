package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// each calls fn for every member of ms at once, releasing the calls
// together once all goroutines run, and returns the first failure as a
// NodeError of phase; the first failure cancels the others' context.
func (r *run) each(ctx context.Context, phase string, ms []*member, fn func(context.Context, *member) error) error {
	return r.eachThen(ctx, phase, ms, true, fn)
}

// eachAll is each, but lets every call end by itself after a failure: a
// node takes a snapshot whose caller has gone, and only an agent that got
// the node's answer knows the snapshot's names to delete it.
func (r *run) eachAll(ctx context.Context, phase string, ms []*member, fn func(context.Context, *member) error) error {
	return r.eachThen(ctx, phase, ms, false, fn)
}

func (r *run) eachThen(ctx context.Context, phase string, ms []*member, cancelRest bool, fn func(context.Context, *member) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		start = make(chan struct{})
	)
	for _, m := range ms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := fn(ctx, m); err != nil {
				once.Do(func() {
					first = &NodeError{Node: m.node.Address, Phase: phase, Err: err}
					if cancelRest {
						cancel()
					}
				})
			}
		}()
	}
	close(start)
	wg.Wait()
	return first
}

// fail tells every agent to abort (each may have started the operation,
// even one whose prepare answer was lost) and returns err with what the
// aborts left.
func (r *run) fail(ctx context.Context, err error) error {
	actx := context.WithoutCancel(ctx)
	var mu sync.Mutex
	var left []string
	var wg sync.WaitGroup
	for _, m := range r.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if aerr := r.o.Client.Abort(actx, m.node, r.op, r.o.AbortTimeout); aerr != nil && !unreachable(err, m.node.Address) {
				mu.Lock()
				left = append(left, aerr.Error())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	msg := "every agent was told to abort; no set written"
	if len(left) > 0 {
		msg = fmt.Sprintf("no set written; %d agent(s) could not be told to abort and will when their lease ends: %s", len(left), strings.Join(left, "; "))
	}
	return fmt.Errorf("cannot back up cluster: %w (%s)", err, msg)
}

// unreachable reports whether err is node's agent not answering: its
// abort cannot be expected to get through either, and saying so again adds
// nothing.
func unreachable(err error, node string) bool {
	var ce *CallError
	return errors.As(err, &ce) && ce.Node == node && ce.Status == 0
}
