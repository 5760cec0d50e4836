package translator

import (
	"context"

	"github.com/sctpguard/sctpguard/policy"
)

// Rendered is one unit as `sctpguard translate` prints it: the objects a sync would create
// on an empty controller, in creation order, or why the unit would not be synced.
type Rendered struct {
	Unit string `json:"unit"`
	// Skipped says why nothing would be written for the unit.
	Skipped string `json:"skipped,omitempty"`
	// Frozen lists the deny findings that freeze inputs of the unit.
	Frozen []policy.Finding `json:"frozen,omitempty"`
	// Objects are the desired Avi objects: pools, L4 policy set, VsVip, virtual service.
	Objects []TypedObject `json:"objects,omitempty"`
	// Events are the warnings the translator would emit.
	Events []Event `json:"events,omitempty"`
	// Listeners are a Gateway's listener states.
	Listeners []ListenerState `json:"listeners,omitempty"`
}

// Render builds every unit in scope and returns it as a sync from empty would write it.
func Render(ctx context.Context, b *Builder) ([]Rendered, error) {
	keys, err := b.Keys()
	if err != nil {
		return nil, err
	}
	var out []Rendered
	for _, k := range keys {
		u, err := b.Build(ctx, k)
		if err != nil {
			return nil, err
		}
		if u == nil {
			continue
		}
		r := Rendered{Unit: k.String(), Skipped: u.Skip, Events: u.Events, Listeners: u.Listeners}
		for _, f := range u.Frozen {
			r.Frozen = append(r.Frozen, f.Findings...)
		}
		if u.Skip == "" {
			r.Objects = u.Objects()
		}
		out = append(out, r)
	}
	return out, nil
}
