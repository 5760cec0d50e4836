package translator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/go-logr/logr"
	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/manifest"
	"github.com/sctpguard/sctpguard/translator/avi"
)

// Output formats of `sctpguard translate`: yaml or json for the objects, text or json for
// the plan against a controller.
const (
	OutputYAML = "yaml"
	OutputJSON = "json"
	OutputText = "text"
)

// Exit codes of `sctpguard translate`, in line with `check`.
const (
	ExitOK     = 0 // every unit in scope renders
	ExitFrozen = 1 // a unit is frozen or skipped: the translator would not sync it
	ExitError  = 2 // usage error, or an input could not be read or parsed
)

// TranslateOptions configure `sctpguard translate`. Its inputs (manifests, AKO context, rule
// configuration) are read as check reads them, and given to Translate as Inputs.
type TranslateOptions struct {
	// Output is yaml or json for the objects, text or json for a plan; empty for the first.
	Output string
	// ClusterName overrides AKO's clusterName, which every object name starts with.
	ClusterName string
	// SyncAKOClass translates AKO's class too, as `serve --translator-sync-ako-class` syncs it.
	SyncAKOClass bool
	// Controller, when set, is the Avi Controller the plan is computed against (read-only:
	// the login and GETs); CredentialsDir holds its credentials as `serve` reads them.
	Controller         string
	CredentialsDir     string
	InsecureSkipVerify bool
	Timeout            time.Duration
}

// Inputs are what translate works on: the objects of the manifests, the AKO context, the
// rule configuration, and the inputs that could not be read (reported, exit 2).
type Inputs struct {
	Objects []policy.Object
	Context policy.Context
	Config  policy.Config
	Errors  []*manifest.Error
}

// NewTranslateOptions returns the defaults.
func NewTranslateOptions() *TranslateOptions {
	return &TranslateOptions{CredentialsDir: DefaultCredentialsDir, Timeout: avi.DefaultTimeout}
}

// Validate checks the options.
func (o *TranslateOptions) Validate() field.ErrorList {
	var errs field.ErrorList
	formats := []string{OutputYAML, OutputJSON}
	if o.Controller != "" {
		formats = []string{OutputText, OutputJSON}
	}
	if o.Output != "" && !slices.Contains(formats, o.Output) {
		errs = append(errs, field.NotSupported(field.NewPath("output"), o.Output, formats))
	}
	return errs
}

// translation is what translate prints.
type translation struct {
	Units []Rendered `json:"units"`
}

// Translate renders the Avi objects a sync of the inputs (as read reads them) would create
// on an empty controller, or with a controller the plan against it, writes them to out and
// returns the exit code. Problems go to errOut.
func Translate(ctx context.Context, o *TranslateOptions, read func() (*Inputs, error), out, errOut io.Writer) int {
	if errs := o.Validate(); len(errs) > 0 {
		fmt.Fprintf(errOut, "error: %v\n", errs.ToAggregate())
		return ExitError
	}
	in, err := read()
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	settings, readErrs := in.Context, in.Errors
	if settings.AKO == nil {
		settings.AKO = policy.DefaultAKOSettings()
	}
	if o.ClusterName != "" {
		settings.AKO.ClusterName = o.ClusterName
	}
	if settings.AKO.ClusterName == "" {
		fmt.Fprintln(errOut, "error: AKO's clusterName is needed for the object names: pass --ako-values, --ako-configmap or --cluster-name")
		return ExitError
	}
	engine, err := policy.NewEngine(in.Config)
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	b := &Builder{Context: settings, Source: NewMemorySource(in.Objects...), Engine: engine, SyncAKOClass: o.SyncAKOClass}
	if o.Controller != "" {
		return translatePlan(ctx, o, b, readErrs, out, errOut)
	}
	units, err := Render(ctx, b)
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	t := translation{Units: units}
	if t.Units == nil {
		t.Units = []Rendered{}
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err == nil && o.Output != OutputJSON {
		data, err = orderedYAML(data)
	}
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	if _, err := out.Write(append(data, '\n')); err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	code := ExitOK
	if a := settings.AKO; a.VRFName == "" && a.ServiceType != policy.ServiceTypeNodePort && len(a.VIPNetworks) > 0 && len(units) > 0 {
		// What the controller alone knows (avi-translation.md, "AKO inputs").
		fmt.Fprintf(errOut, "note: the objects show the VRF global; a sync uses the VRF of network %s as the Avi Controller has it, since AKO's vrfName is empty\n",
			a.VIPNetworks[0].NetworkName+a.VIPNetworks[0].NetworkUUID)
	}
	for _, u := range units {
		if u.Skipped != "" {
			fmt.Fprintf(errOut, "%s: not synced: %s\n", u.Unit, u.Skipped)
			code = ExitFrozen
		}
	}
	for _, e := range readErrs {
		fmt.Fprintf(errOut, "%v\n", e)
		code = ExitError
	}
	return code
}

// translatePlan prints the plans of the inputs against the controller: what a sync would
// create, update (the fields before and after), delete and leave unchanged. It only reads.
func translatePlan(ctx context.Context, o *TranslateOptions, b *Builder, readErrs []*manifest.Error, out, errOut io.Writer) int {
	log := logr.Discard()
	topts := &Options{Controller: o.Controller, CredentialsDir: o.CredentialsDir, InsecureSkipVerify: o.InsecureSkipVerify,
		APIVersion: avi.MinSCTPVersion, Timeout: o.Timeout}
	ctrl, err := topts.newController(log, nil)(b.Context)
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logoutTimeout)
		defer cancel()
		_ = ctrl.Logout(lctx)
	}()
	plans, err := PlanController(ctx, ctrl, b, log)
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	if plans == nil {
		plans = []*Plan{}
	}
	if o.Output == OutputJSON {
		data, err := json.MarshalIndent(plans, "", "  ")
		if err == nil {
			_, err = out.Write(append(data, '\n'))
		}
		if err != nil {
			fmt.Fprintf(errOut, "error: %v\n", err)
			return ExitError
		}
	} else if err := WritePlans(out, plans); err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	code := ExitOK
	for _, p := range plans {
		if p.Skipped != "" || p.Blocked != "" {
			code = ExitFrozen
		}
	}
	for _, e := range readErrs {
		fmt.Fprintf(errOut, "%v\n", e)
		code = ExitError
	}
	return code
}

// orderedYAML converts JSON to block-style YAML keeping the key order (type, name, body;
// the fields as the controller would see them), which reads better in a review than
// sorted keys.
func orderedYAML(data []byte) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	var plain func(n *yaml.Node)
	plain = func(n *yaml.Node) {
		n.Style = 0
		for _, c := range n.Content {
			plain(c)
		}
	}
	plain(&doc)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), enc.Close()
}
