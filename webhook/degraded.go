package webhook

import (
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sctpguard/sctpguard/internal/akosettings"
)

// Degradation causes, the cause label of sctpguard_degraded.
const (
	// DegradedAKOSettings: keys of AKO's ConfigMap that do not read; AKO's own reading of
	// them applies.
	DegradedAKOSettings = akosettings.DegradedSettings
	// DegradedAKOConfigMapAbsent: AKO's ConfigMap does not exist; rules that need AKO's
	// settings are silent.
	DegradedAKOConfigMapAbsent = akosettings.DegradedConfigMapAbsent
	// DegradedPolicies: the user policy set was refused; the last good set is in force.
	DegradedPolicies = "policies-refused"
	// DegradedAKOGuardConfiguration: without cert-manager, the guard's webhook configuration
	// cannot be read or patched, so its caBundle may not be the CA in force: the API server
	// may fail to call the guard, and AKO's ConfigMap changes unguarded (failurePolicy
	// Ignore). No admission warning: the webhooks' verdicts are whole.
	DegradedAKOGuardConfiguration = "ako-guard-configuration"
)

var _ akosettings.Degradations = (*Degradations)(nil)

var degradationCauses = []string{DegradedAKOSettings, DegradedAKOConfigMapAbsent, DegradedPolicies, DegradedAKOGuardConfiguration}

// Degradations records the degraded states of a running replica, each with the admission
// warning that tells users about it. Every validating answer carries those warnings, the
// gauge sctpguard_degraded{cause} is 1 while a state lasts, and the follower that found it
// reports it as an Event on the object at fault: a degraded replica stays Ready (it still
// judges, with what it could read) but never silently.
type Degradations struct {
	mu       sync.Mutex
	warnings map[string]string
	gauge    *prometheus.GaugeVec
}

// NewDegradations registers the gauge with reg (nil: no metric).
func NewDegradations(reg prometheus.Registerer) (*Degradations, error) {
	d := &Degradations{warnings: map[string]string{}}
	if reg == nil {
		return d, nil
	}
	d.gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "sctpguard_degraded",
		Help: "1 while the replica judges in a degraded state, by cause (ako-settings: keys of AKO's ConfigMap that do not read; " +
			"ako-configmap-absent; policies-refused: the last good user policy set is in force; " +
			"ako-guard-configuration: the guard's webhook configuration cannot be read or patched with the CA in force).",
	}, []string{"cause"})
	if err := reg.Register(d.gauge); err != nil {
		return nil, err
	}
	for _, c := range degradationCauses {
		d.gauge.WithLabelValues(c).Set(0)
	}
	return d, nil
}

// Set records a degraded state and the warning users get about it; an empty warning: a
// state the webhooks' verdicts do not mention (the gauge and the Event tell it).
func (d *Degradations) Set(cause, warning string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.warnings[cause] = warning
	if d.gauge != nil {
		d.gauge.WithLabelValues(cause).Set(1)
	}
}

// Clear ends a degraded state.
func (d *Degradations) Clear(cause string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.warnings, cause)
	if d.gauge != nil {
		d.gauge.WithLabelValues(cause).Set(0)
	}
}

// Warnings returns the warnings of the degraded states in force, by cause.
func (d *Degradations) Warnings() []string {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	causes := make([]string, 0, len(d.warnings))
	for c, w := range d.warnings {
		if w != "" {
			causes = append(causes, c)
		}
	}
	slices.Sort(causes)
	out := make([]string, len(causes))
	for i, c := range causes {
		out[i] = d.warnings[c]
	}
	return out
}

// Has reports whether a degraded state is in force.
func (d *Degradations) Has(cause string) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.warnings[cause]
	return ok
}
