package translator

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Reasons of the dry run's Events: what a sync would do to the Avi objects of the unit.
const (
	ReasonWouldCreate = "WouldCreate"
	ReasonWouldUpdate = "WouldUpdate"
	ReasonWouldDelete = "WouldDelete"
)

var wouldReasons = map[Action]string{ActionCreate: ReasonWouldCreate, ActionUpdate: ReasonWouldUpdate, ActionDelete: ReasonWouldDelete}

// reportPlan reports a plan a dry run does not apply: one log line per write, and one
// Event per action on the unit's inputs (u's Gateway, and members, the Services).
func (r *Reconciler) reportPlan(ctx context.Context, log logr.Logger, u *Unit, members []types.NamespacedName, p *Plan) {
	writes := p.Writes()
	r.mu.Lock()
	if r.pending == nil {
		r.pending = map[UnitKey]bool{}
	}
	key := unitKeyOf(p.Unit)
	if len(writes) > 0 {
		r.pending[key] = true
	} else {
		delete(r.pending, key)
	}
	n := len(r.pending)
	r.mu.Unlock()
	if r.Metrics != nil {
		r.Metrics.dryRunPending.Set(float64(n))
	}
	if len(writes) == 0 {
		log.V(1).Info("dry run: nothing to write", "vs", p.Name)
		return
	}
	byAction := map[Action][]string{}
	for _, c := range writes {
		kv := []any{"type", c.Type, "name", c.Name}
		if len(c.Fields) > 0 {
			fields := make([]string, 0, len(c.Fields))
			for _, f := range c.Fields {
				fields = append(fields, f.Field)
			}
			kv = append(kv, "fields", fields)
		}
		log.Info("dry run: would "+string(c.Action), kv...)
		byAction[c.Action] = append(byAction[c.Action], c.Type+" "+c.Name)
	}
	for _, a := range []Action{ActionDelete, ActionCreate, ActionUpdate} {
		objs := byAction[a]
		if len(objs) == 0 {
			continue
		}
		msg := fmt.Sprintf("Would %s %s (dry run: nothing is written to the Avi Controller)", a, strings.Join(objs, ", "))
		if u != nil && u.Gateway != nil {
			r.emitObject(u.Gateway, corev1.EventTypeNormal, wouldReasons[a], msg)
		}
		for _, m := range members {
			r.emitService(ctx, m, corev1.EventTypeNormal, wouldReasons[a], msg)
		}
	}
}

// observePlan counts the changes a plan makes.
func (r *Reconciler) observePlan(_ UnitKey, p *Plan) {
	if r.Metrics == nil {
		return
	}
	for _, c := range p.Changes {
		r.Metrics.planned.WithLabelValues(string(c.Action), c.Type, fmt.Sprint(r.DryRun)).Inc()
	}
}

// unitKeyOf parses "<kind>/<ns>/<name>".
func unitKeyOf(s string) UnitKey {
	parts := strings.SplitN(s, "/", 3)
	if len(parts) != 3 {
		return UnitKey{}
	}
	return UnitKey{Kind: UnitKind(parts[0]), Namespace: parts[1], Name: parts[2]}
}

// deletedMembers returns the Services a deletion of the unit concerns, from the objects'
// service_metadata.
func (s *Syncer) deletedMembers(key UnitKey, names []string) []types.NamespacedName {
	var out []types.NamespacedName
	for _, name := range names {
		for _, m := range s.members(key, name) {
			if !slices.Contains(out, m) {
				out = append(out, m)
			}
		}
	}
	return out
}
