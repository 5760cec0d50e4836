package translator

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the translator's Prometheus metrics.
type Metrics struct {
	syncs      *prometheus.CounterVec
	duration   prometheus.Histogram
	writes     prometheus.Counter
	requests   *prometheus.CounterVec
	reqLatency *prometheus.HistogramVec
	connected  prometheus.Gauge
	// planned counts the changes of the computed plans; dryRunPending is the number of units
	// whose last dry-run plan writes.
	planned       *prometheus.CounterVec
	dryRunPending prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sctpguard_translator_syncs_total",
			Help: "Unit syncs by kind (svc, sharedvip, gw) and result (ok, or the failure reason such as SyncFailed, OwnershipConflict).",
		}, []string{"kind", "result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sctpguard_translator_sync_duration_seconds",
			Help:    "Time to reconcile one unit with the Avi Controller, successful syncs only.",
			Buckets: []float64{1e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10, 30},
		}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sctpguard_translator_writes_total",
			Help: "POST, PUT and DELETE requests that changed the Avi Controller.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sctpguard_avi_requests_total",
			Help: "HTTP exchanges with the Avi Controller by method, object type and status code (0: transport error).",
		}, []string{"method", "type", "code"}),
		reqLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sctpguard_avi_request_duration_seconds",
			Help:    "Duration of one HTTP exchange with the Avi Controller, by method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method"}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sctpguard_translator_connected",
			Help: "1 while the translator is logged in to an Avi Controller that passes the SCTP gate (version >= 22.1.3, Enterprise licence); 0 otherwise.",
		}),
		planned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sctpguard_translator_planned_changes_total",
			Help: "Changes of the computed plans by action (create, update, delete, unchanged), Avi object type and dry_run (true: reported, not applied).",
		}, []string{"action", "type", "dry_run"}),
		dryRunPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sctpguard_translator_dry_run_pending_units",
			Help: "With --translator-dry-run: the units whose last plan would write to the Avi Controller.",
		}),
	}
	for _, c := range []prometheus.Collector{m.syncs, m.duration, m.writes, m.requests, m.reqLatency, m.connected, m.planned, m.dryRunPending} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observe(key UnitKey, start time.Time, se *SyncError, out *Outcome) {
	result := "ok"
	if se != nil {
		result = se.Reason
	}
	m.syncs.WithLabelValues(string(key.Kind), result).Inc()
	if se == nil && !start.IsZero() {
		m.duration.Observe(time.Since(start).Seconds())
	}
	if out != nil {
		m.writes.Add(float64(out.Writes))
	}
}

// ObserveRequest counts one exchange with the controller; it is the avi.Config Observe hook.
func (m *Metrics) ObserveRequest(method, typ string, status int, d time.Duration) {
	m.requests.WithLabelValues(method, typ, strconv.Itoa(status)).Inc()
	m.reqLatency.WithLabelValues(method).Observe(d.Seconds())
}

func (m *Metrics) setConnected(ok bool) {
	if m == nil {
		return
	}
	v := 0.0
	if ok {
		v = 1
	}
	m.connected.Set(v)
}
