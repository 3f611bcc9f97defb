package engine

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the engine's Prometheus metrics.
type Metrics struct {
	Transitions  *prometheus.CounterVec
	GrantSeconds prometheus.Histogram
	// GrantPhases times the steps of a grant that can take long: the read
	// of the target before it (read), the durable commit of the ledger
	// intent (intent), the AWS call that grants (aws) and the commit of the
	// outcome (record). Where a slow grant's time goes: AWS or the disk.
	GrantPhases        *prometheus.HistogramVec
	Lateness           prometheus.Histogram
	DeescalateFailures prometheus.Counter
	// Attempts counts every AWS attempt the engine makes, by operation
	// (grant, remove, read, verify) and outcome (ok, error).
	Attempts *prometheus.CounterVec
	// SweepRearmed counts open requests the sweeper found without a timer.
	SweepRearmed prometheus.Counter
	// Reconciler: actions by kind and outcome, members sym did not add
	// (last pass), and the time of a pass.
	Reconciled       *prometheus.CounterVec
	Unmanaged        prometheus.Gauge
	ReconcileSeconds prometheus.Histogram
}

// NewMetrics makes the metrics and registers them when reg is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sym_request_events_total", Help: "Access request events by type.",
		}, []string{"event"}),
		GrantSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sym_grant_seconds", Help: "Time from approval to access granted.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
		}),
		GrantPhases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sym_grant_phase_seconds", Help: "Time of each step of a grant: read (the target before the grant), intent (the durable ledger commit), aws (the call that grants), record (the outcome's commit).",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"phase"}),
		Lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sym_deescalation_lateness_seconds", Help: "How long after its deadline scheduled access was removed.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		DeescalateFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sym_deescalation_failures_total", Help: "Failed attempts to remove access (each is retried).",
		}),
		Attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sym_access_attempts_total", Help: "AWS attempts by the engine, by operation (grant, remove, read, verify) and outcome.",
		}, []string{"op", "outcome"}),
		SweepRearmed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sym_sweep_rearmed_total", Help: "Open requests the sweeper found without a scheduled wake-up.",
		}),
		Reconciled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sym_reconcile_actions_total", Help: "Reconciler actions by action (remove, re-add, end, report) and outcome.",
		}, []string{"action", "outcome"}),
		Unmanaged: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sym_reconcile_unmanaged_members", Help: "Members of reconciled targets that sym did not add (last pass).",
		}),
		ReconcileSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sym_reconcile_seconds", Help: "Time of a reconcile pass.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Transitions, m.GrantSeconds, m.GrantPhases, m.Lateness, m.DeescalateFailures, m.Attempts, m.SweepRearmed,
			m.Reconciled, m.Unmanaged, m.ReconcileSeconds)
	}
	return m
}

func (m *Metrics) transition(ev string) { m.Transitions.WithLabelValues(ev).Inc() }

// phase observes how long a step of a grant took since start (monotonic,
// whatever the engine's clock says).
func (m *Metrics) phase(name string, start time.Time) {
	m.GrantPhases.WithLabelValues(name).Observe(time.Since(start).Seconds())
}
