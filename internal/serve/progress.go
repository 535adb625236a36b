package serve

import "sync"

// Progress is a running backup's progress, as GET /api/v1/jobs shows it.
type Progress struct {
	Phase      string `json:"phase"`
	Repository string `json:"repository"`
	ItemsDone  int64  `json:"items_done"`
	ItemsTotal int64  `json:"items_total"`
	BytesDone  int64  `json:"bytes_done"`
	BytesTotal int64  `json:"bytes_total"`
}

// progressReporter implements progress.Reporter for one job.
type progressReporter struct {
	mu sync.Mutex
	p  Progress
}

func (r *progressReporter) begin(repo string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p = Progress{Phase: "scan", Repository: repo}
}

// Start implements progress.Reporter.
func (r *progressReporter) Start(phase string, items, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p = Progress{Phase: phase, Repository: r.p.Repository, ItemsTotal: items, BytesTotal: bytes}
}

// Advance implements progress.Reporter.
func (r *progressReporter) Advance(items, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.ItemsDone += items
	r.p.BytesDone += bytes
}

// Done implements progress.Reporter.
func (r *progressReporter) Done() {}

func (r *progressReporter) get() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.p
}
