package translator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/go-logr/logr"

	"github.com/sctpguard/sctpguard/translator/avi"
)

// The plan of avi-translation.md §8.0, after external-dns's: before it writes, the translator
// computes for each unit what it would do to each Avi object, and only then applies it. The
// same plan is what `sctpguard translate --controller` prints and what a dry run reports.

// Action is what a plan does to one Avi object.
type Action string

// Plan actions.
const (
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionDelete    Action = "delete"
	ActionUnchanged Action = "unchanged"
)

// Change is one Avi object in a plan.
type Change struct {
	Action Action `json:"action"`
	Type   string `json:"type"`
	Name   string `json:"name"`
	// Fields are the managed fields an update changes, before and after, in the normalized
	// form the comparison uses (avi-translation.md §8.2); sorted by field.
	Fields []FieldChange `json:"fields,omitempty"`

	// desired is the object to create or update.
	desired any
	// orphan marks the deletion of a pool no longer selected, done after the virtual
	// service's write (§8.1 step 7); a pool that something else still uses is then left.
	orphan bool
}

// FieldChange is one managed field of an update.
type FieldChange struct {
	Field string `json:"field"`
	// Before and After are the field's JSON values; absent when the field is.
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}

// Plan is what a sync of one unit would do, in the order it would do it.
type Plan struct {
	Unit string `json:"unit"`
	// Name is the unit's virtual service name (for a deletion: the one deleted).
	Name string `json:"name,omitempty"`
	// Skipped says why nothing would be written for the unit (frozen, name too long).
	Skipped string `json:"skipped,omitempty"`
	// Blocked says why the unit cannot be synced now (an ownership conflict, AKO still
	// holding the unit's inputs): the changes are what would follow once it can.
	Blocked string   `json:"blocked,omitempty"`
	Changes []Change `json:"changes"`
}

// Writes returns the changes that write: creates, updates and deletes.
func (p *Plan) Writes() []Change {
	return slices.DeleteFunc(slices.Clone(p.Changes), func(c Change) bool { return c.Action == ActionUnchanged })
}

// Count returns the number of changes of each action.
func (p *Plan) Count() map[Action]int {
	out := map[Action]int{}
	for _, c := range p.Changes {
		out[c.Action]++
	}
	return out
}

// diffFields returns the managed fields in which the current object differs from the
// desired one, from their normalized forms (the comparison of §8.2), and the static VIP
// addresses, which the normalized form leaves out.
func diffFields(typ string, desired any, current avi.Object, currentNorm []byte) ([]FieldChange, error) {
	d, err := norm{current: current, names: new(map[string]string)}.normalized(typ, desired)
	if err != nil {
		return nil, err
	}
	var want, have map[string]json.RawMessage
	if err := json.Unmarshal(d, &want); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(currentNorm, &have); err != nil {
		return nil, err
	}
	keys := slices.Sorted(maps.Keys(want))
	for k := range have {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []FieldChange
	for _, k := range keys {
		if !bytes.Equal(want[k], have[k]) {
			out = append(out, FieldChange{Field: k, Before: have[k], After: want[k]})
		}
	}
	if v, ok := desired.(*avi.VsVip); ok && len(out) == 0 {
		same, err := sameStaticVIPs(v, current)
		if err != nil {
			return nil, err
		}
		if !same {
			before, _ := json.Marshal(current["vip"])
			after, _ := json.Marshal(v.VIP)
			out = append(out, FieldChange{Field: "vip", Before: before, After: after})
		}
	}
	return out, nil
}

// WritePlans prints plans as text, a summary line last:
//
//	svc/default/server: sctpguard.cluster--default-server
//	  + create pool sctpguard.cluster--default-server-SCTP-80
//	  ~ update virtualservice sctpguard.cluster--default-server
//	      traffic_enabled: false -> true
//	  = unchanged vsvip sctpguard.cluster--default-server
//	  - delete pool sctpguard.cluster--default-server-SCTP-81
func WritePlans(w io.Writer, plans []*Plan) error {
	var b strings.Builder
	total := map[Action]int{}
	for _, p := range plans {
		if p.Name != "" {
			fmt.Fprintf(&b, "%s: %s\n", p.Unit, p.Name)
		} else {
			fmt.Fprintf(&b, "%s:\n", p.Unit)
		}
		if p.Skipped != "" {
			fmt.Fprintf(&b, "  skipped: %s\n", p.Skipped)
		}
		if p.Blocked != "" {
			fmt.Fprintf(&b, "  blocked: %s\n", p.Blocked)
		}
		for _, c := range p.Changes {
			fmt.Fprintf(&b, "  %s %s %s %s\n", actionMark[c.Action], c.Action, c.Type, c.Name)
			for _, f := range c.Fields {
				fmt.Fprintf(&b, "      %s: %s -> %s\n", f.Field, orAbsent(f.Before), orAbsent(f.After))
			}
			total[c.Action]++
		}
	}
	fmt.Fprintf(&b, "Plan: %d to create, %d to update, %d to delete, %d unchanged.\n",
		total[ActionCreate], total[ActionUpdate], total[ActionDelete], total[ActionUnchanged])
	_, err := io.WriteString(w, b.String())
	return err
}

var actionMark = map[Action]string{ActionCreate: "+", ActionUpdate: "~", ActionDelete: "-", ActionUnchanged: "="}

func orAbsent(v json.RawMessage) string {
	if len(v) == 0 {
		return "(absent)"
	}
	return string(v)
}

// Plans computes the plan of every unit the builder finds in scope and of every unit the
// syncer's state holds objects of, sorted by unit; a deletion with nothing to delete is left
// out. A unit that cannot be planned now (an ownership conflict, a name collision, AKO still
// holding its inputs) gets its reason as Blocked. Only reads: the state's and, for a unit of
// sctpguard's class not yet created, one GET of AKO's virtual service for it.
func Plans(ctx context.Context, b *Builder, s *Syncer) ([]*Plan, error) {
	keys, err := b.Keys()
	if err != nil {
		return nil, err
	}
	keys = append(keys, s.State.Units()...)
	slices.SortFunc(keys, func(x, y UnitKey) int { return strings.Compare(x.String(), y.String()) })
	var out []*Plan
	for _, k := range slices.Compact(keys) {
		u, err := b.Build(ctx, k)
		if err != nil {
			return nil, err
		}
		if u == nil {
			if p := s.PlanDelete(k, b.UnitNames(k)); len(p.Changes) > 0 {
				out = append(out, p)
			}
			continue
		}
		p, err := s.Plan(ctx, u)
		var se *SyncError
		switch {
		case errors.As(err, &se):
			p.Blocked = fmt.Sprintf("%s: %v", se.Reason, se.Err)
		case err != nil:
			return nil, fmt.Errorf("plan %s: %w", k, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// PlanController connects to a controller as the translator does (the gate, the cloud, the
// owned objects), and returns the plans of the builder's inputs against it. It only reads:
// the login and GETs. The builder's context gets the controller version and the cloud.
func PlanController(ctx context.Context, ctrl Controller, b *Builder, log logr.Logger) ([]*Plan, error) {
	a := b.Context.AKO
	version, _, err := Gate(ctx, ctrl)
	if err != nil {
		return nil, err
	}
	cloud, err := readCloud(ctx, ctrl, a)
	if err != nil {
		return nil, err
	}
	b.Context.ControllerVersion, b.Context.Cloud = version, cloud
	state := NewState(Owner(a.ClusterName))
	if err := state.Load(ctx, ctrl, a.ClusterName, a.Cloud()); err != nil {
		return nil, fmt.Errorf("read the owned objects: %w", err)
	}
	return Plans(ctx, b, &Syncer{Client: ctrl, State: state, Cluster: a.ClusterName, Cloud: a.Cloud(), Log: log})
}
