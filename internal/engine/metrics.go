package engine

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the engine's Prometheus metrics.
type Metrics struct {
	Transitions        *prometheus.CounterVec
	GrantSeconds       prometheus.Histogram
	Lateness           prometheus.Histogram
	DeescalateFailures prometheus.Counter
	// Attempts counts every AWS attempt the engine makes, by operation
	// (grant, remove, read, verify) and outcome (ok, error).
	Attempts *prometheus.CounterVec
	// SweepRearmed counts open requests the sweeper found without a timer.
	SweepRearmed prometheus.Counter
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
	}
	if reg != nil {
		reg.MustRegister(m.Transitions, m.GrantSeconds, m.Lateness, m.DeescalateFailures, m.Attempts, m.SweepRearmed)
	}
	return m
}

func (m *Metrics) transition(ev string) { m.Transitions.WithLabelValues(ev).Inc() }
