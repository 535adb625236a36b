package serve

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/banyan-backup/banyan-backup/internal/buildinfo"
)

// metrics are one server's Prometheus metrics, in a registry of its own.
//
// The job's label is backup_job, not job: Prometheus gives every scraped
// series a job label of its own (the scrape job), and a target's job label
// would be renamed exported_job or overwrite it.
type metrics struct {
	reg          *prometheus.Registry
	lastSuccess  *prometheus.GaugeVec
	succeeded    *prometheus.GaugeVec
	lastDuration *prometheus.GaugeVec
	duration     *prometheus.HistogramVec
	runs         *prometheus.CounterVec
	skipped      *prometheus.CounterVec
	failures     *prometheus.CounterVec
	running      *prometheus.GaugeVec
	interval     *prometheus.GaugeVec
	nextRun      *prometheus.GaugeVec
	bytesRead    *prometheus.CounterVec
	bytesAdded   *prometheus.CounterVec
	bytesUp      *prometheus.CounterVec
	dedup        *prometheus.GaugeVec
	repoSize     *prometheus.GaugeVec
	kept         *prometheus.GaugeVec
	forgotten    *prometheus.CounterVec

	verifyFailures    *prometheus.CounterVec
	verifyLastSuccess *prometheus.GaugeVec
	verifyProblems    *prometheus.GaugeVec
	verifyInterval    *prometheus.GaugeVec
}

const ns = "banyan_backup"

// jobLabel names the job in every metric (see metrics).
const jobLabel = "backup_job"

// failureKinds are the values of failures_total's kind label.
var failureKinds = []string{"node", "source", "repository", "locked", "integrity", "cancelled", "retention", "config", "backup"}

func newMetrics(build buildinfo.Info) *metrics {
	jr := []string{jobLabel, "repository"}
	j := []string{jobLabel}
	m := &metrics{
		reg: prometheus.NewRegistry(),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_success_timestamp_seconds",
			Help: "Unix time of the job's last successful backup into the repository: when this server's run finished, or when the newest backup of the job found in the repository at start began; 0 while none is known."}, jr),
		succeeded: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "has_succeeded",
			Help: "1 once a successful backup of the job into the repository is known (last_success_timestamp_seconds is set), else 0."}, jr),
		lastDuration: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "last_duration_seconds",
			Help: "Duration of the job's last backup into the repository, successful or not."}, jr),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Name: "backup_duration_seconds",
			Help:    "Duration of backups, successful or not.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400}}, jr),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "runs_total",
			Help: "Job runs started, by what started them (schedule or api)."}, []string{jobLabel, "trigger"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "runs_skipped_total",
			Help: "Job runs not started, by reason (overlap: the previous run was still going)."}, []string{jobLabel, "reason"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "failures_total",
			Help: "Failed backups and retention runs, by kind of failure."}, []string{jobLabel, "repository", "kind"}),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "running",
			Help: "1 while a run of the job is going."}, j),
		interval: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "schedule_interval_seconds",
			Help: "The longest gap between two fire times of the job's schedule over the next 31 days: alert when the last success is older than twice this."}, j),
		nextRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "next_run_timestamp_seconds",
			Help: "Unix time of the job's next scheduled run."}, j),
		bytesRead: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "read_bytes_total",
			Help: "Bytes read from the source by successful backups."}, jr),
		bytesAdded: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "added_bytes_total",
			Help: "Bytes the repository grew by in successful backups (new packs, index files, manifests)."}, jr),
		bytesUp: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "uploaded_bytes_total",
			Help: "Bytes written to the repository's storage, by every backup and retention run (failed ones too)."}, jr),
		dedup: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "dedup_ratio",
			Help: "Logical size of the backups kept in the repository over its stored size."}, jr),
		repoSize: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "repository_size_bytes",
			Help: "Bytes stored in the repository, after the job's last run."}, jr),
		kept: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "backups_kept",
			Help: "Backups of the job in the repository, after the job's last run."}, jr),
		forgotten: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "backups_forgotten_total",
			Help: "Backups removed by the job's retention policy."}, jr),
		verifyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Name: "verify_failures_total",
			Help: "Scheduled verifications of the repository that found problems or could not run."}, jr),
		verifyLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "verify_last_success_timestamp_seconds",
			Help: "Unix time at which the last verification of the repository that found no problem finished; 0 while none has."}, jr),
		verifyProblems: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "verify_problems",
			Help: "Problems the last completed verification of the repository found."}, jr),
		verifyInterval: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "verify_interval_seconds",
			Help: "The longest gap between two fire times of the job's verify schedule over the next 31 days."}, j),
	}
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Name: "build_info",
		Help: "1, labelled with the running binary's version, VCS revision and Go version."}, []string{"version", "revision", "goversion"})
	info.WithLabelValues(build.Version, build.Commit, build.GoVersion).Set(1)
	m.reg.MustRegister(m.lastSuccess, m.succeeded, m.lastDuration, m.duration, m.runs, m.skipped, m.failures, m.running,
		m.interval, m.nextRun, m.bytesRead, m.bytesAdded, m.bytesUp, m.dedup, m.repoSize, m.kept, m.forgotten, info,
		m.verifyFailures, m.verifyLastSuccess, m.verifyProblems, m.verifyInterval,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// initJob makes every series of a job exist from the start (counters,
// has_succeeded and last_success_timestamp_seconds at 0, an empty
// histogram), so that absent(), rate() and `time() - last_success > X`
// work before the first run. The gauges that describe a repository after a
// run (size, dedup ratio, backups kept, last duration) appear with it.
func (m *metrics) initJob(job string, repos []string, intervalSeconds float64) {
	m.running.WithLabelValues(job).Set(0)
	m.interval.WithLabelValues(job).Set(intervalSeconds)
	m.skipped.WithLabelValues(job, "overlap")
	for _, t := range []string{"schedule", "api"} {
		m.runs.WithLabelValues(job, t)
	}
	for _, r := range repos {
		for _, k := range failureKinds {
			m.failures.WithLabelValues(job, r, k)
		}
		m.lastSuccess.WithLabelValues(job, r).Set(0)
		m.succeeded.WithLabelValues(job, r).Set(0)
		m.duration.WithLabelValues(job, r)
		m.bytesRead.WithLabelValues(job, r)
		m.bytesAdded.WithLabelValues(job, r)
		m.bytesUp.WithLabelValues(job, r)
	}
}

// initVerify makes the verification series of a job with a verify schedule
// exist from the start.
func (m *metrics) initVerify(job string, repos []string, intervalSeconds float64) {
	m.verifyInterval.WithLabelValues(job).Set(intervalSeconds)
	for _, r := range repos {
		m.verifyFailures.WithLabelValues(job, r)
		m.verifyLastSuccess.WithLabelValues(job, r).Set(0)
	}
}
