// Package pack assembles hookline's policy pack on policyx from the rule
// functions in policy/rules: one policyx policy per rule, each with its own
// enforcement level (policyx ignores a pack-level one) and config schema.
package pack

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/blang/semver"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"

	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/stackconfig"
)

// Name and Version identify the pack.
const (
	Name    = "hookline"
	Version = "0.1.0"
)

// configSchemas are the bounds each rule takes, as JSON schema. The receive
// count bounds may only narrow the stack config's own (stackconfig.MinReceiveCount
// to MaxReceiveCount, with the reasons there): the pack never lets through a
// configuration the program refuses, nor refuses one the program's defaults make.
var configSchemas = map[string]map[string]any{
	"minReceiveCount": {"type": "integer", "minimum": stackconfig.MinReceiveCount, "maximum": stackconfig.MaxReceiveCount, "default": rules.Defaults().MinReceiveCount},
	"maxReceiveCount": {"type": "integer", "minimum": stackconfig.MinReceiveCount, "maximum": stackconfig.MaxReceiveCount, "default": rules.Defaults().MaxReceiveCount},
	"allowedSecurityPolicies": {"type": "array", "items": map[string]any{"type": "string"},
		"default": toAny(rules.Defaults().AllowedSecurityPolicies)},
	"exemptHttpMethods": {"type": "array", "items": map[string]any{"type": "string"},
		"default": toAny(rules.Defaults().ExemptHTTPMethods)},
	"maxThrottleRate":  {"type": "number", "minimum": 1, "default": rules.Defaults().MaxThrottleRate},
	"maxThrottleBurst": {"type": "number", "minimum": 1, "default": rules.Defaults().MaxThrottleBurst},
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func level(l string) policyx.EnforcementLevel {
	switch l {
	case rules.Advisory:
		return policyx.EnforcementLevelAdvisory
	case rules.Disabled:
		return policyx.EnforcementLevelDisabled
	default:
		return policyx.EnforcementLevelMandatory
	}
}

// New builds the pack.
func New() (policyx.PolicyPack, error) {
	var policies []policyx.Policy
	for _, rule := range rules.ResourceRules {
		rule := rule
		var schema *policyx.ConfigSchema
		if len(rule.ConfigKeys) > 0 {
			schema = &policyx.ConfigSchema{Properties: map[string]map[string]any{}}
			for _, k := range rule.ConfigKeys {
				schema.Properties[k] = configSchemas[k]
			}
		}
		policies = append(policies, policyx.NewResourceValidationPolicy(rule.Name, policyx.ResourceValidationPolicyArgs{
			Description:      rule.Description,
			EnforcementLevel: level(rule.Level),
			ConfigSchema:     schema,
			ValidateResource: func(_ context.Context, args policyx.ResourceValidationArgs) (err error) {
				defer recoverRule(rule.Name, args.Resource.URN, &err)
				cfg, err := parseConfig(args.Config)
				if err != nil {
					return fmt.Errorf("policy %s: %w", rule.Name, err)
				}
				for _, msg := range rule.Check(Resource(args.Resource), cfg) {
					args.Manager.ReportViolation(msg, "")
				}
				return nil
			},
		}))
	}
	for _, rule := range rules.StackRules {
		rule := rule
		policies = append(policies, policyx.NewStackValidationPolicy(rule.Name, policyx.StackValidationPolicyArgs{
			Description:      rule.Description,
			EnforcementLevel: level(rule.Level),
			ValidateStack: func(_ context.Context, args policyx.StackValidationArgs) (err error) {
				defer recoverRule(rule.Name, "", &err)
				rs := make([]rules.Resource, len(args.Resources))
				for i, r := range args.Resources {
					rs[i] = Resource(r)
				}
				// policyx hands stack policies no config: their rules use fixed bounds.
				for _, f := range rule.Check(rs, rules.Defaults()) {
					args.Manager.ReportViolation(f.Message, f.URN)
				}
				return nil
			},
		}))
	}
	return policyx.NewPolicyPack(Name, semver.MustParse(Version), policyx.EnforcementLevelMandatory, policies)
}

// recoverRule turns a panic in a rule into an error naming the rule: one bad
// rule must not kill the whole pack.
func recoverRule(name, urn string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("policy %s failed on %s: %v", name, urn, r)
	}
}

// parseConfig reads a policy's config (already JSON-decoded by policyx).
func parseConfig(m map[string]any) (rules.Config, error) {
	var c rules.Config
	if len(m) > 0 {
		b, err := json.Marshal(m)
		if err != nil {
			return c, err
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return c, fmt.Errorf("config: %w", err)
		}
	}
	return c.WithDefaults(), nil
}

// Resource converts an analyzer resource for the rules.
func Resource(r policyx.AnalyzerResource) rules.Resource {
	props := map[string]any{}
	for k, v := range r.Properties.All {
		props[k] = value(v)
	}
	return rules.Resource{URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent, Props: props,
		PropertyDependencies: r.PropertyDependencies}
}

func value(v property.Value) any {
	var out any
	switch {
	case v.IsComputed():
		return rules.Unknown{}
	case v.IsNull():
		out = nil
	case v.IsBool():
		out = v.AsBool()
	case v.IsNumber():
		out = v.AsNumber()
	case v.IsString():
		out = v.AsString()
	case v.IsArray():
		arr := []any{}
		for _, e := range v.AsArray().All {
			arr = append(arr, value(e))
		}
		out = arr
	case v.IsMap():
		m := map[string]any{}
		for k, e := range v.AsMap().All {
			m[k] = value(e)
		}
		out = m
	default:
		out = nil // assets, archives, references
	}
	if v.Secret() {
		return rules.Secret{V: out}
	}
	return out
}
