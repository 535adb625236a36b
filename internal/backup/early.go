package backup

import (
	"os"
	"sync"
)

// earlyRemover deletes, in the background, the part directories of a live
// backup's snapshot that the backup has finished reading, so that their
// removal overlaps the reading of the others instead of following it. The
// snapshot's final removal deletes whatever is left.
type earlyRemover struct {
	mu     sync.Mutex
	closed bool
	queue  chan string
	done   chan struct{}
}

func startEarlyRemover() *earlyRemover {
	r := &earlyRemover{queue: make(chan string, 16384), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for dir := range r.queue {
			_ = os.RemoveAll(dir) // what fails here, the final removal reports
		}
	}()
	return r
}

// add queues dir for removal; when the queue is full, or the remover is
// stopped, the final removal deletes it instead.
func (r *earlyRemover) add(dir string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	select {
	case r.queue <- dir:
	default:
	}
}

// stop waits for the queued removals.
func (r *earlyRemover) stop() {
	if r == nil {
		return
	}
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	<-r.done
}
