package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sctpguard/sctpguard/policy"
)

// Request outcomes, as counted in sctpguard_admission_requests_total.
const (
	outcomeAllowed    = "allowed"
	outcomeWarned     = "warned"
	outcomeDenied     = "denied"
	outcomeMutated    = "mutated"
	outcomeExempt     = "exempt"
	outcomeSkipped    = "skipped"
	outcomeError      = "error"
	outcomeBadRequest = "bad_request"
	outcomePanic      = "panic"
)

// Metrics are the webhook's Prometheus metrics.
type Metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	findings *prometheus.CounterVec
	// ContextReloads counts reloads of the AKO context by result (ok, partial, absent).
	ContextReloads *prometheus.CounterVec
	policyReloads  *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sctpguard_admission_requests_total",
			Help: "Admission requests by webhook (validate, mutate), kind, operation and outcome.",
		}, []string{"webhook", "kind", "operation", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sctpguard_admission_duration_seconds",
			Help:    "Time to answer an admission request, from reading the body to writing the response.",
			Buckets: []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1},
		}, []string{"webhook"}),
		findings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sctpguard_admission_findings_total",
			Help: "Findings of the validating webhook by rule and action (deny, warn, and dryrun: counted and logged, not returned).",
		}, []string{"rule", "action"}),
		ContextReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sctpguard_context_reloads_total",
			Help: "Reloads of the AKO context from AKO's ConfigMap, by result (ok; partial: some keys unreadable, read as AKO does; absent).",
		}, []string{"result"}),
		policyReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sctpguard_policy_reloads_total",
			Help: "Reloads of the user policies from their ConfigMaps, by result (ok, error: refused, the last good set kept).",
		}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.latency, m.findings, m.ContextReloads, m.policyReloads} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *Metrics) observe(mode Mode, kind, operation, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(string(mode), kind, operation, outcome).Inc()
	m.latency.WithLabelValues(string(mode)).Observe(d.Seconds())
}

func (m *Metrics) countFindings(findings []policy.Finding) {
	if m == nil {
		return
	}
	for _, f := range findings {
		m.findings.WithLabelValues(f.Rule, string(f.Action)).Inc()
	}
}

func (m *Metrics) contextReload(result string) {
	if m == nil {
		return
	}
	m.ContextReloads.WithLabelValues(result).Inc()
}

func (m *Metrics) policyReload(result string) {
	if m == nil {
		return
	}
	m.policyReloads.WithLabelValues(result).Inc()
}
