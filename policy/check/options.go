package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/sctpguard/sctpguard/policy"
	"github.com/sctpguard/sctpguard/policy/input"
	"github.com/sctpguard/sctpguard/policy/rego"
)

// Output formats.
const (
	OutputText   = "text"
	OutputJSON   = "json"
	OutputJUnit  = "junit"
	OutputSARIF  = "sarif"
	OutputGitHub = "github"
)

// Outputs lists the supported output formats.
var Outputs = []string{OutputText, OutputJSON, OutputJUnit, OutputSARIF, OutputGitHub}

// Exit codes.
const (
	ExitClean  = 0 // no denial (warnings allowed)
	ExitDenied = 1 // at least one denial
	ExitError  = 2 // usage error, or an input could not be read or parsed
)

// DefaultMaxFileSize bounds each file read (manifests, policies, values and configuration
// files) and standard input.
const DefaultMaxFileSize = input.DefaultMaxSize

// DefaultMemoryLimit keeps a check of 10,000 manifests near 130 MB of resident memory, of
// which some 55 MB is the program itself (its code and data mapped on an empty input). The
// objects such a set holds take 35-45 MiB when a check holds them all (see holdsObjects):
// the limit binds only at the end of the run, where the heap would otherwise grow to twice
// the objects held. A bounded check holds far less, and the limit paces its garbage. Lower, it leaves too
// little room above them, and the collector runs every few megabytes (at 64 MiB a check
// with a user policy spent a fifth more CPU).
const DefaultMemoryLimit = 88 << 20

// Options are the settings of one check run.
type Options struct {
	// Files are paths of files or directories, or "-" for standard input.
	Files []string
	// Namespace is given to namespaced objects that name none.
	Namespace string
	// Output is one of Outputs.
	Output string
	// Mutate applies the mutations, prints the mutated manifests and judges those.
	Mutate bool
	// MaxFileSize bounds each input in bytes.
	MaxFileSize int64
	// MemoryLimit is a soft limit on the Go heap in bytes (0: none). check is a batch tool
	// that often runs in small CI containers: near the limit, memory is collected more often
	// instead of growing. GOMEMLIMIT, when set, wins.
	MemoryLimit int64

	// AKOValues is AKO's Helm values file; AKOConfigMap a file holding the avi-k8s-config
	// ConfigMap. At most one may be set.
	AKOValues    string
	AKOConfigMap string
	// The context flags override the files. Tri-state booleans are "", "true" or "false".
	AKOServiceType         string
	AKOServicesAPI         string
	AKODefaultLBController string
	AKOLayer7Only          string
	ControllerVersion      string
	Platform               string
	CNI                    string

	// PolicyDirs hold the user's policies: Rego modules, ConstraintTemplates and constraints.
	PolicyDirs []string
	// Data are data documents for the policies (conftest's --data): files or directories.
	Data []string
	// RegoVersion is the Rego version of the .rego modules: v1 or v0 (conftest's
	// --rego-version).
	RegoVersion string
	// RegoPackages keeps the rules of the Rego packages matching these globs (conftest's
	// --namespace); empty keeps every package.
	RegoPackages []string
	// Combine makes the Rego modules judge all documents at once (conftest's --combine):
	// input is an array of {path, contents}, one per file.
	Combine bool
	// PolicyTimeout bounds the user policies' evaluation of one object; OnPolicyError is
	// what a failing policy does (warn or deny).
	PolicyTimeout time.Duration
	OnPolicyError string

	// ConfigFile holds a policy.Config in YAML; Disable, Enable, Warn and ExemptNamespaces add to it.
	ConfigFile       string
	Disable          []string
	Enable           []string
	Warn             []string
	ExemptNamespaces []string

	// ToolVersion is reported in SARIF output.
	ToolVersion string

	// Cluster reads the objects to judge from a live cluster, read-only; AKO's settings
	// come from its ConfigMap there unless AKOValues or AKOConfigMap give others (the
	// what-if). Namespace is then the namespace listed ("" for the kubeconfig context's),
	// AllNamespaces lists every namespace. With Files, the files' objects are judged
	// instead, against the cluster's objects in their namespaces (every namespace with
	// AllNamespaces), each replacing the stored object of its name: what would a kubectl
	// apply of the files break.
	Cluster       bool
	Kubeconfig    string
	KubeContext   string
	AllNamespaces bool
	// AKOConfigMapNamespace and AKOConfigMapName name AKO's ConfigMap in the cluster.
	AKOConfigMapNamespace string
	AKOConfigMapName      string
	// ClusterReader, when set, is the cluster read instead of the kubeconfig's (tests).
	ClusterReader ClusterReader
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{Namespace: "default", Output: OutputText, MaxFileSize: DefaultMaxFileSize, MemoryLimit: DefaultMemoryLimit, ToolVersion: "dev",
		PolicyTimeout: rego.DefaultTimeout, OnPolicyError: string(policy.ActionWarn), RegoVersion: rego.RegoV1,
		AKOConfigMapNamespace: "avi-system", AKOConfigMapName: "avi-k8s-config"}
}

// Validate checks the options without reading any file.
func (o *Options) Validate() field.ErrorList {
	var errs field.ErrorList
	switch {
	case o.Cluster && o.Mutate:
		errs = append(errs, field.Forbidden(field.NewPath("mutate"), "--mutate prints mutated manifests; --cluster reads stored objects and never writes"))
	case !o.Cluster && (o.AllNamespaces || o.Kubeconfig != "" || o.KubeContext != ""):
		errs = append(errs, field.Forbidden(field.NewPath("cluster"), "--all-namespaces, --kubeconfig and --context read a cluster: give --cluster"))
	case !o.Cluster && len(o.Files) == 0:
		errs = append(errs, field.Required(field.NewPath("filename"), "give at least one file, directory or - (standard input) with -f, or --cluster"))
	}
	if !slices.Contains(Outputs, o.Output) {
		errs = append(errs, field.NotSupported(field.NewPath("output"), o.Output, Outputs))
	}
	if o.AKOValues != "" && o.AKOConfigMap != "" {
		errs = append(errs, field.Forbidden(field.NewPath("ako-configmap"), "give --ako-values or --ako-configmap, not both"))
	}
	if o.OnPolicyError != string(policy.ActionWarn) && o.OnPolicyError != string(policy.ActionDeny) {
		errs = append(errs, field.NotSupported(field.NewPath("on-policy-error"), o.OnPolicyError, []string{"warn", "deny"}))
	}
	if !slices.Contains(rego.RegoVersions, o.RegoVersion) {
		errs = append(errs, field.NotSupported(field.NewPath("rego-version"), o.RegoVersion, rego.RegoVersions))
	}
	if len(o.PolicyDirs) == 0 {
		if len(o.Data) > 0 {
			errs = append(errs, field.Forbidden(field.NewPath("data"), "data documents are for user policies; give --policy too"))
		}
		if o.Combine {
			errs = append(errs, field.Forbidden(field.NewPath("combine"), "combines the input for user policies; give --policy too"))
		}
		if len(o.RegoPackages) > 0 {
			errs = append(errs, field.Forbidden(field.NewPath("rego-package"), "selects packages of user policies; give --policy too"))
		}
	}
	if o.MemoryLimit < 0 {
		errs = append(errs, field.Invalid(field.NewPath("memory-limit"), o.MemoryLimit, "must be 0 (no limit) or positive"))
	}
	if o.MaxFileSize <= 0 {
		errs = append(errs, field.Invalid(field.NewPath("max-file-size"), o.MaxFileSize, "must be positive"))
	}
	for _, f := range []struct{ name, v string }{
		{"ako-services-api", o.AKOServicesAPI}, {"ako-default-lb-controller", o.AKODefaultLBController}, {"ako-layer7-only", o.AKOLayer7Only},
	} {
		if _, err := parseTristate(f.v); err != nil {
			errs = append(errs, field.Invalid(field.NewPath(f.name), f.v, "must be true or false"))
		}
	}
	return errs
}

func parseTristate(v string) (*bool, error) {
	if v == "" {
		return nil, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// Context builds the rule context from the files and flags.
func (o *Options) Context() (policy.Context, error) { return o.contextOver(nil) }

// contextOver builds the rule context from the files and flags over the settings read from a
// cluster (nil: none); the files replace those, the flags override both.
func (o *Options) contextOver(cluster *policy.Context) (policy.Context, error) {
	var ctx policy.Context
	switch {
	case o.AKOValues == "" && o.AKOConfigMap == "" && cluster != nil:
		ctx = *cluster
	case o.AKOValues != "":
		data, err := o.readFile(o.AKOValues)
		if err != nil {
			return ctx, fmt.Errorf("read AKO values: %w", err)
		}
		if ctx, err = policy.ParseAKOValues(data); err != nil {
			return ctx, fmt.Errorf("%s: %w", o.AKOValues, err)
		}
	case o.AKOConfigMap != "":
		data, err := o.readFile(o.AKOConfigMap)
		if err != nil {
			return ctx, fmt.Errorf("read AKO ConfigMap: %w", err)
		}
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal(data, &cm); err != nil {
			return ctx, fmt.Errorf("%s: parse ConfigMap: %w", o.AKOConfigMap, err)
		}
		if cm.Kind != "ConfigMap" {
			return ctx, fmt.Errorf("%s: expected a ConfigMap (AKO's avi-k8s-config), got kind %q", o.AKOConfigMap, cm.Kind)
		}
		if ctx, err = policy.ParseAKOConfigMap(cm.Data); err != nil {
			return ctx, fmt.Errorf("%s: %w", o.AKOConfigMap, err)
		}
	}
	if cluster != nil && ctx.Platform == "" {
		ctx.Platform = cluster.Platform
	}
	ako := func() *policy.AKOSettings {
		if ctx.AKO == nil {
			ctx.AKO = policy.DefaultAKOSettings()
		}
		return ctx.AKO
	}
	if o.AKOServiceType != "" {
		ako().ServiceType = policy.ServiceType(o.AKOServiceType)
	}
	for _, f := range []struct {
		v   string
		dst func() *bool
	}{
		{o.AKOServicesAPI, func() *bool { return &ako().ServicesAPI }},
		{o.AKODefaultLBController, func() *bool { return &ako().DefaultLBController }},
		{o.AKOLayer7Only, func() *bool { return &ako().Layer7Only }},
	} {
		if b, _ := parseTristate(f.v); b != nil {
			*f.dst() = *b
		}
	}
	if o.ControllerVersion != "" {
		ctx.ControllerVersion = o.ControllerVersion
	}
	if o.Platform != "" {
		ctx.Platform = o.Platform
	}
	if o.CNI != "" {
		ctx.CNI = o.CNI
	}
	if errs := ctx.Validate(); len(errs) > 0 {
		return ctx, fmt.Errorf("invalid context: %w", errs.ToAggregate())
	}
	return ctx, nil
}

// policies loads the user's policies; nil when there are none.
func (o *Options) policies(ctx context.Context) (*rego.Set, error) {
	if len(o.PolicyDirs) == 0 {
		return nil, nil
	}
	var sources []rego.Source
	for _, dir := range o.PolicyDirs {
		s, err := rego.ReadDir(dir, o.MaxFileSize)
		if err != nil {
			return nil, sizeHint(err)
		}
		sources = append(sources, s...)
	}
	data, err := rego.ReadData(o.Data, o.MaxFileSize)
	if err != nil {
		return nil, err
	}
	return rego.Load(ctx, append(sources, data...), rego.Options{
		Timeout: o.PolicyTimeout, OnError: policy.Action(o.OnPolicyError), RegoVersion: o.RegoVersion, Packages: o.RegoPackages,
		Combine: o.Combine,
	})
}

// Config builds the rule configuration from the file and flags.
func (o *Options) Config() (policy.Config, error) {
	cfg, err := policy.ReadConfig(o.ConfigFile, o.MaxFileSize, policy.Config{Disabled: o.Disable, Enable: o.Enable, Warn: o.Warn, ExemptNamespaces: o.ExemptNamespaces})
	return cfg, sizeHint(err)
}

// readFile reads a file named by a flag as -f inputs are read: a regular file, under the
// same size limit.
func (o *Options) readFile(path string) ([]byte, error) {
	data, err := input.ReadFile(path, o.MaxFileSize)
	return data, sizeHint(err)
}

// sizeHint adds to an input over the size limit how to get past it.
func sizeHint(err error) error {
	if tl := (*input.TooLargeError)(nil); errors.As(err, &tl) {
		return fmt.Errorf("%w; split it, or raise --max-file-size", err)
	}
	return err
}
