package policy

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/sctpguard/sctpguard/policy/input"
)

// Config tunes the built-in rules and mutations.
type Config struct {
	// Disabled lists rule or mutation IDs that do not run.
	Disabled []string `json:"disabled,omitempty"`
	// Warn lists rule IDs whose denials are demoted to warnings.
	Warn []string `json:"warn,omitempty"`
	// ExemptNamespaces lists namespaces the rules and mutations skip; a trailing "*" matches
	// a prefix ("kube-*").
	ExemptNamespaces []string `json:"exemptNamespaces,omitempty"`
}

// LoadConfig reads the rule configuration file at path (none when empty, unknown keys
// refused, at most input.DefaultMaxSize bytes) and adds the rules and namespaces given on
// the command line, flags.
func LoadConfig(path string, flags Config) (Config, error) {
	return ReadConfig(path, input.DefaultMaxSize, flags)
}

// ReadConfig is LoadConfig with the file's size limit, maxSize bytes.
func ReadConfig(path string, maxSize int64, flags Config) (Config, error) {
	var cfg Config
	if path != "" {
		data, err := input.ReadFile(path, maxSize)
		if err != nil {
			return cfg, fmt.Errorf("read rule configuration: %w", err)
		}
		if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
			return cfg, fmt.Errorf("%s: %w", path, err)
		}
	}
	cfg.Disabled = append(cfg.Disabled, flags.Disabled...)
	cfg.Warn = append(cfg.Warn, flags.Warn...)
	cfg.ExemptNamespaces = append(cfg.ExemptNamespaces, flags.ExemptNamespaces...)
	return cfg, nil
}

// Validate checks that every ID names a built-in rule or mutation (or one of extra, the IDs
// of user policies) and every namespace pattern is a namespace name, optionally ending in "*".
func (c Config) Validate(extra ...string) field.ErrorList {
	var errs field.ErrorList
	known := func(id string) bool {
		_, ok := catalogue[RuleID(id)]
		return ok || slices.Contains(extra, id)
	}
	for i, id := range c.Disabled {
		if !known(id) {
			errs = append(errs, field.NotFound(field.NewPath("disabled").Index(i), id))
		}
	}
	for i, id := range c.Warn {
		p := field.NewPath("warn").Index(i)
		switch info, ok := catalogue[RuleID(id)]; {
		case !ok && slices.Contains(extra, id):
		case !ok:
			errs = append(errs, field.NotFound(p, id))
		case info.Mutation:
			errs = append(errs, field.Invalid(p, id, "is a mutation; mutations can be disabled, not demoted"))
		}
	}
	for i, ns := range c.ExemptNamespaces {
		name := strings.TrimSuffix(ns, "*")
		if name == "" {
			errs = append(errs, field.Invalid(field.NewPath("exemptNamespaces").Index(i), ns, `"*" alone would exempt every namespace`))
			continue
		}
		// A prefix need not be a whole label, but must be made of label characters.
		check := name
		if strings.HasSuffix(ns, "*") {
			check = strings.TrimRight(name, "-") + "x"
		}
		for _, msg := range validation.IsDNS1123Label(check) {
			errs = append(errs, field.Invalid(field.NewPath("exemptNamespaces").Index(i), ns, msg))
		}
	}
	return errs
}

// compiledConfig is a Config in the form the engine queries.
type compiledConfig struct {
	disabled sets.Set[string]
	warn     sets.Set[string]
	exact    sets.Set[string]
	prefixes []string
}

func compileConfig(c Config, extra ...string) (compiledConfig, error) {
	if errs := c.Validate(extra...); len(errs) > 0 {
		return compiledConfig{}, fmt.Errorf("invalid rule configuration: %w", errs.ToAggregate())
	}
	cc := compiledConfig{disabled: sets.New(c.Disabled...), warn: sets.New(c.Warn...), exact: sets.New[string]()}
	for _, ns := range c.ExemptNamespaces {
		if prefix, ok := strings.CutSuffix(ns, "*"); ok {
			cc.prefixes = append(cc.prefixes, prefix)
		} else {
			cc.exact.Insert(ns)
		}
	}
	return cc, nil
}

func (cc compiledConfig) exempt(namespace string) bool {
	if namespace == "" {
		return false
	}
	if cc.exact.Has(namespace) {
		return true
	}
	for _, p := range cc.prefixes {
		if strings.HasPrefix(namespace, p) {
			return true
		}
	}
	return false
}
