package translator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/check"
)

// Output formats of `sctpguard translate`.
const (
	OutputYAML = "yaml"
	OutputJSON = "json"
)

// Exit codes of `sctpguard translate`, in line with `check`.
const (
	ExitOK     = 0 // every unit in scope renders
	ExitFrozen = 1 // a unit is frozen or skipped: the translator would not sync it
	ExitError  = 2 // usage error, or an input could not be read or parsed
)

// TranslateOptions configure `sctpguard translate`: the inputs and AKO context flags are
// check's, so both commands read the same files the same way.
type TranslateOptions struct {
	*check.Options
	// ClusterName overrides AKO's clusterName, which every object name starts with.
	ClusterName string
}

// NewTranslateOptions returns the defaults.
func NewTranslateOptions() *TranslateOptions {
	o := &TranslateOptions{Options: check.NewOptions()}
	o.Output = OutputYAML
	return o
}

// Validate checks the options.
func (o *TranslateOptions) Validate() field.ErrorList {
	out := o.Output
	o.Output = check.OutputText // check's own formats do not apply here
	errs := o.Options.Validate()
	o.Output = out
	if !slices.Contains([]string{OutputYAML, OutputJSON}, o.Output) {
		errs = append(errs, field.NotSupported(field.NewPath("output"), o.Output, []string{OutputYAML, OutputJSON}))
	}
	return errs
}

// translation is what translate prints.
type translation struct {
	Units []Rendered `json:"units"`
}

// Translate renders the Avi objects a sync of the inputs would create on an empty
// controller, writes them to out and returns the exit code. Problems go to errOut.
func Translate(ctx context.Context, o *TranslateOptions, in io.Reader, out, errOut io.Writer) int {
	if errs := o.Validate(); len(errs) > 0 {
		fmt.Fprintf(errOut, "error: %v\n", errs.ToAggregate())
		return ExitError
	}
	settings, err := o.Context()
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
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
	cfg, err := o.Config()
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	engine, err := policy.NewEngine(cfg)
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	docs, _, readErrs := check.Read(o.Options, in)
	var objs []policy.Object
	for _, d := range docs {
		if d.Typed != nil {
			objs = append(objs, d.Typed)
		}
	}
	units, err := Render(ctx, &Builder{Context: settings, Source: NewMemorySource(objs...), Engine: engine})
	if err != nil {
		fmt.Fprintf(errOut, "error: %v\n", err)
		return ExitError
	}
	t := translation{Units: units}
	if t.Units == nil {
		t.Units = []Rendered{}
	}
	data, err := json.MarshalIndent(t, "", "  ")
	if err == nil && o.Output == OutputYAML {
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
