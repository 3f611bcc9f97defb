package logdest

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics: counters kept as deliveries happen, and the lag and backlog of
// each destination read from the outbox at scrape time (so they are right
// after a restart too).
type metrics struct {
	deliveredTotal *prometheus.CounterVec
	failuresTotal  *prometheus.CounterVec
	deliveryLag    prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer, d *Deliverer) *metrics {
	m := &metrics{
		deliveredTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sym_log_destination_delivered_total", Help: "Audit events delivered, by destination id.",
		}, []string{"destination"}),
		failuresTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sym_log_destination_failures_total", Help: "Failed delivery attempts, by destination id.",
		}, []string{"destination"}),
		deliveryLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sym_log_destination_delivery_seconds",
			Help:    "Time from an audit event's append to its delivery.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}),
	}
	if reg != nil {
		reg.MustRegister(m.deliveredTotal, m.failuresTotal, m.deliveryLag, &backlogCollector{d: d})
	}
	return m
}

func (m *metrics) delivered(dest string, lag time.Duration) {
	m.deliveredTotal.WithLabelValues(dest).Inc()
	m.deliveryLag.Observe(lag.Seconds())
}

func (m *metrics) failed(dest string) { m.failuresTotal.WithLabelValues(dest).Inc() }

var (
	lagDesc = prometheus.NewDesc("sym_log_destination_lag_seconds",
		"Age of the oldest audit event a destination has not received yet (0 when it has them all).",
		[]string{"destination", "kind", "type"}, nil)
	pendingDesc = prometheus.NewDesc("sym_log_destination_pending",
		"Audit events queued for a destination.", []string{"destination", "kind", "type"}, nil)
)

// backlogCollector reads each destination's backlog from the outbox.
type backlogCollector struct{ d *Deliverer }

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- lagDesc
	ch <- pendingDesc
}

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sts, err := c.d.Status(ctx)
	if err != nil {
		c.d.opt.Log.Warn("collect log destination metrics", "err", err)
		return
	}
	for _, s := range sts {
		ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, s.LagSeconds, s.ID, s.Kind, s.Type)
		ch <- prometheus.MustNewConstMetric(pendingDesc, prometheus.GaugeValue, float64(s.Pending), s.ID, s.Kind, s.Type)
	}
}
