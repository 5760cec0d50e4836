package audit

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sctpguard/sctpguard/policy"
)

// Pause causes, the cause label of sctpguard_audit_paused.
const (
	// PausedSettings: AKO's settings are not known (not read yet, or the ConfigMap is absent).
	PausedSettings = "ako-settings-unknown"
	// PausedPolicies: the user policies were refused, or not read yet.
	PausedPolicies = "policies-refused"
)

// Metrics are the audit's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	violations  *prometheus.GaugeVec
	paused      *prometheus.GaugeVec
	evaluations prometheus.Counter
	errors      prometheus.Counter
	passes      prometheus.Counter
	passSeconds prometheus.Gauge
	writes      *prometheus.CounterVec
}

// NewMetrics registers the audit's metrics with reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		violations: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sctpguard_audit_violations",
			Help: "Findings on stored objects in the audit's reports, by rule and action (deny, warn, dryrun, exception).",
		}, []string{"rule", "action"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sctpguard_audit_paused",
			Help: "1 while the audit writes no reports because its picture would be wrong, by cause (ako-settings-unknown, policies-refused).",
		}, []string{"cause"}),
		evaluations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sctpguard_audit_evaluations_total", Help: "Stored objects the audit judged.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sctpguard_audit_errors_total", Help: "Stored objects the audit could not judge (retried), and report writes that failed.",
		}),
		passes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sctpguard_audit_full_passes_total", Help: "Full passes: at start, on a change of AKO's settings or of the policies, and at each resync.",
		}),
		passSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sctpguard_audit_last_full_pass_seconds", Help: "How long the last full pass took, reports written.",
		}),
		writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sctpguard_audit_report_writes_total", Help: "Report writes, by operation (apply, delete).",
		}, []string{"operation"}),
	}
	for _, c := range []prometheus.Collector{m.violations, m.paused, m.evaluations, m.errors, m.passes, m.passSeconds, m.writes} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, c := range []string{PausedSettings, PausedPolicies} {
		m.paused.WithLabelValues(c).Set(0)
	}
	return m, nil
}

func (m *Metrics) setViolations(rule string, action policy.Action, n int) {
	if m != nil {
		m.violations.WithLabelValues(rule, string(action)).Set(float64(n))
	}
}

func (m *Metrics) setPaused(cause string, on bool) {
	if m == nil || cause == "" {
		return
	}
	v := 0.0
	if on {
		v = 1
	}
	m.paused.WithLabelValues(cause).Set(v)
}

func (m *Metrics) evaluated(n int) {
	if m != nil {
		m.evaluations.Add(float64(n))
	}
}

func (m *Metrics) failed() {
	if m != nil {
		m.errors.Inc()
	}
}

func (m *Metrics) passed(d time.Duration) {
	if m != nil {
		m.passes.Inc()
		m.passSeconds.Set(d.Seconds())
	}
}

func (m *Metrics) wrote(operation string) {
	if m != nil {
		m.writes.WithLabelValues(operation).Inc()
	}
}
