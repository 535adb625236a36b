package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are one server's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg          *prometheus.Registry
	lastSuccess  *prometheus.GaugeVec
	lastDuration *prometheus.GaugeVec
	duration     *prometheus.HistogramVec
	runs         *prometheus.CounterVec
	skipped      *prometheus.CounterVec
	failures     *prometheus.CounterVec
	running      *prometheus.GaugeVec
	bytesRead    *prometheus.CounterVec
	bytesAdded   *prometheus.CounterVec
	bytesUp      *prometheus.CounterVec
	dedup        *prometheus.GaugeVec
	repoSize     *prometheus.GaugeVec
	kept         *prometheus.GaugeVec
	forgotten    *prometheus.CounterVec
}

const ns = "banyan_backup"

// failureKinds are the values of failures_total's kind label.
var failureKinds = []string{"node", "source", "repository", "locked", "integrity", "cancelled", "retention", "config", "backup"}

func newMetrics() *metrics {
	jr := []string{"job", "repository"}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_success_timestamp_seconds",
			Help: "Unix time at which the job's last successful backup into the repository finished."}, jr),
		lastDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_duration_seconds",
			Help: "Duration of the job's last backup into the repository, successful or not."}, jr),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "backup_duration_seconds",
			Help:    "Duration of backups, successful or not.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400}}, jr),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "runs_total",
			Help: "Job runs started, by what started them (schedule or api)."}, []string{"job", "trigger"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "runs_skipped_total",
			Help: "Job runs not started, by reason (overlap: the previous run was still going)."}, []string{"job", "reason"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "failures_total",
			Help: "Failed backups and retention runs, by kind of failure."}, []string{"job", "repository", "kind"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "running",
			Help: "1 while a run of the job is going."}, []string{"job"}),
		bytesRead: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bytes_read_total",
			Help: "Bytes read from the source by successful backups."}, jr),
		bytesAdded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bytes_added_total",
			Help: "Bytes the repository grew by in successful backups (new packs, index files, manifests)."}, jr),
		bytesUp: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "bytes_uploaded_total",
			Help: "Bytes written to the repository's storage, by every backup and retention run (failed ones too)."}, jr),
		dedup: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "dedup_ratio",
			Help: "Logical size of the backups kept in the repository over its stored size."}, jr),
		repoSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "repository_size_bytes",
			Help: "Bytes stored in the repository, after the job's last run."}, jr),
		kept: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "backups_kept",
			Help: "Backups of the job in the repository, after the job's last run."}, jr),
		forgotten: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "backups_forgotten_total",
			Help: "Backups removed by the job's retention policy."}, jr),
	}
	m.reg.MustRegister(m.lastSuccess, m.lastDuration, m.duration, m.runs, m.skipped, m.failures, m.running,
		m.bytesRead, m.bytesAdded, m.bytesUp, m.dedup, m.repoSize, m.kept, m.forgotten,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// initJob makes every series of a job exist at 0 from the start, so that
// absent() and rate() work before the first run.
func (m *metrics) initJob(job string, repos []string) {
	m.running.WithLabelValues(job).Set(0)
	m.skipped.WithLabelValues(job, "overlap")
	for _, t := range []string{"schedule", "api"} {
		m.runs.WithLabelValues(job, t)
	}
	for _, r := range repos {
		for _, k := range failureKinds {
			m.failures.WithLabelValues(job, r, k)
		}
		m.bytesRead.WithLabelValues(job, r)
		m.bytesAdded.WithLabelValues(job, r)
		m.bytesUp.WithLabelValues(job, r)
	}
}
