// Package plan is hookline's offline plan: it runs the real program under
// Pulumi mocks backed by the offline AWS model, with the stack's own
// Pulumi.<stack>.yaml, and reports every resource with its inputs and the
// stack outputs. No credentials, no CLI, no network.
package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/ops"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/policy/rules"
	"github.com/hookline/hookline/stackconfig"
)

// Placeholders for values the plan cannot or must not show.
const (
	Secret  = "[secret]"
	Unknown = "[unknown]"
)

// Options say which stack to plan and where the project is.
type Options struct {
	// Dir is the project directory (Pulumi.yaml, Pulumi.<stack>.yaml, handler/).
	Dir string
	// Stack is the stack name.
	Stack string
	// Handler overrides how the handler archive is made (tests); default builds it.
	Handler func(projectDir string) (pulumi.Archive, error)
	// Transformations rewrite resources' inputs as the program registers
	// them (see infra.ProgramOptions).
	Transformations []pulumi.ResourceTransformation
	// Policy configures the policy rules; zero is the defaults.
	Policy rules.Config
	// Config, when set, is the stack's raw config, used instead of reading
	// Pulumi.<stack>.yaml (the portal plans requests that have no file).
	Config map[string]string
	// SecretKeys are the keys of Config whose values are secret (a
	// portal-made stack's config, read from its backend, holds them).
	SecretKeys []string
}

// Resource is one planned resource.
type Resource struct {
	URN    string         `json:"urn"`
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	Parent string         `json:"parent"`
	Inputs map[string]any `json:"inputs"`
}

// Violation is one policy finding of the policy pack's rules.
type Violation = rules.Violation

// Result is the plan, in the shape `hookline plan --output json` prints.
type Result struct {
	Project   string         `json:"project"`
	Stack     string         `json:"stack"`
	Resources []Resource     `json:"resources"`
	Outputs   map[string]any `json:"outputs"`
	Policies  []Violation    `json:"policies"`
	Cost      *ops.Estimate  `json:"cost"`

	// Config is the validated stack configuration the plan ran with.
	Config *stackconfig.Config `json:"-"`
	// Registered are the resources as the mocks saw them (inputs and state).
	Registered []awsmodel.Registered `json:"-"`
}

// ConfigError marks a plan that failed on the stack's configuration.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Run plans a stack offline.
func Run(opts Options) (*Result, error) {
	raw, secret := opts.Config, opts.SecretKeys
	if raw == nil {
		var err error
		if raw, secret, err = stackconfig.ReadStackFile(opts.Dir, opts.Stack); err != nil {
			return nil, &ConfigError{err}
		}
	}
	cfg, err := stackconfig.Load(opts.Stack, raw, true, secret)
	if err != nil {
		return nil, &ConfigError{err}
	}
	mocks := awsmodel.NewMocks(stackconfig.Namespace, opts.Stack, cfg.Region)
	outputs := map[string]any{}
	program := infra.Program(infra.ProgramOptions{
		ProjectDir:        opts.Dir,
		Handler:           opts.Handler,
		Transformations:   opts.Transformations,
		APIGatewayAccount: awsmodel.APIGatewayAccount,
		OnOutputs: func(ctx *pulumi.Context, outs pulumi.Map) error {
			for k, v := range outs {
				r, err := internals.UnsafeAwaitOutput(ctx.Context(), pulumi.ToOutput(v))
				if err != nil {
					return fmt.Errorf("resolve output %s: %w", k, err)
				}
				switch {
				case r.Secret:
					outputs[k] = Secret
				case !r.Known:
					outputs[k] = Unknown
				default:
					plain, err := plainJSON(r.Value)
					if err != nil {
						return fmt.Errorf("output %s: %w", k, err)
					}
					outputs[k] = plain
				}
			}
			return nil
		},
	})
	withConfig := func(info *pulumi.RunInfo) { info.Config, info.ConfigSecretKeys = raw, secret }
	if err := pulumi.RunErr(program, pulumi.WithMocks(stackconfig.Namespace, opts.Stack, mocks), withConfig); err != nil {
		return nil, err
	}

	res := &Result{Project: stackconfig.Namespace, Stack: opts.Stack, Outputs: outputs, Config: cfg, Registered: mocks.Registered()}
	for _, r := range res.Registered {
		res.Resources = append(res.Resources, Resource{
			URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent, Inputs: PlainMap(r.Inputs),
		})
	}
	res.Policies = rules.Evaluate(RuleResources(res.Registered), opts.Policy)
	est := ops.StackCost(cfg, ops.Traffic(cfg.Traffic), ops.DefaultPrices)
	res.Cost = &est
	if res.Policies == nil {
		res.Policies = []Violation{}
	}
	return res, nil
}

// plainJSON normalises an output value (pulumi.ID, typed maps, …) to the
// plain JSON types the plan prints.
func plainJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

// converter walks property values into plain Go values; what secrets,
// unknowns and other leaves (assets, archives, references) become is the
// caller's choice: placeholders for the JSON plan, markers for the rules.
type converter struct {
	secret  func(inner any) any
	unknown any
	other   func(resource.PropertyValue) any
}

func (c converter) value(v resource.PropertyValue) any {
	switch {
	case v.IsNull():
		return nil
	case v.IsSecret():
		return c.secret(c.value(v.SecretValue().Element))
	case v.IsComputed():
		return c.unknown
	case v.IsOutput():
		o := v.OutputValue()
		if !o.Known {
			return c.unknown
		}
		if o.Secret {
			return c.secret(c.value(o.Element))
		}
		return c.value(o.Element)
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		arr := v.ArrayValue()
		out := make([]any, len(arr))
		for i, e := range arr {
			out[i] = c.value(e)
		}
		return out
	case v.IsObject():
		return c.object(v.ObjectValue())
	default:
		return c.other(v)
	}
}

func (c converter) object(m resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if k == "__defaults" {
			continue
		}
		out[string(k)] = c.value(v)
	}
	return out
}

// plainValues shows secrets as "[secret]", unknowns as "[unknown]", assets
// and archives as the SHA-256 of their contents.
var plainValues = converter{
	secret:  func(any) any { return Secret },
	unknown: Unknown,
	other: func(v resource.PropertyValue) any {
		switch {
		case v.IsAsset():
			return map[string]any{"asset": assetDigest(v.AssetValue())}
		case v.IsArchive():
			files := map[string]any{}
			for name, e := range v.ArchiveValue().Assets {
				if a, ok := e.(*resource.Asset); ok {
					files[name] = assetDigest(a)
				} else {
					files[name] = fmt.Sprintf("%T", e)
				}
			}
			return map[string]any{"archive": files}
		case v.IsResourceReference():
			return string(v.ResourceReferenceValue().URN)
		default:
			return fmt.Sprint(v.V)
		}
	},
}

// ruleValues keeps secrets readable (rules.Secret) and unknowns marked
// (rules.Unknown); no rule reads assets, archives or references.
var ruleValues = converter{
	secret:  func(inner any) any { return rules.Secret{V: inner} },
	unknown: rules.Unknown{},
	other:   func(resource.PropertyValue) any { return nil },
}

// PlainMap turns Pulumi property values into plain JSON values: secrets as
// "[secret]", unknowns as "[unknown]", assets and archives as their SHA-256.
func PlainMap(m resource.PropertyMap) map[string]any { return plainValues.object(m) }

var digests sync.Map // file digests by path, size and modification time

// assetDigest names an asset by the SHA-256 of its contents, so a plan shows
// whether the handler changed.
// A file's digest is kept by path, size and modification time: a stack's
// functions share one bootstrap, read once.
func assetDigest(a *resource.Asset) string {
	h := sha256.New()
	switch {
	case a.Path != "":
		f, err := os.Open(a.Path)
		if err != nil {
			return "unreadable: " + err.Error()
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return "unreadable: " + err.Error()
		}
		key := fmt.Sprintf("%s\x00%d\x00%d", a.Path, st.Size(), st.ModTime().UnixNano())
		if d, ok := digests.Load(key); ok {
			return d.(string)
		}
		if _, err := io.Copy(h, f); err != nil {
			return "unreadable: " + err.Error()
		}
		d := "sha256:" + hex.EncodeToString(h.Sum(nil))
		digests.Store(key, d)
		return d
	case a.Text != "":
		h.Write([]byte(a.Text))
	default:
		return a.URI
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// CountByType counts the planned resources of each type.
func (r *Result) CountByType() map[string]int {
	out := map[string]int{}
	for _, res := range r.Resources {
		out[res.Type]++
	}
	return out
}

// Find returns the planned resources of a type, in URN order.
func (r *Result) Find(typ string) []Resource {
	var out []Resource
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URN < out[j].URN })
	return out
}

// RuleResources turns the planned custom resources (their full state: inputs
// plus the computed attributes of the offline model) into what the policy
// rules read.
func RuleResources(regs []awsmodel.Registered) []rules.Resource {
	var out []rules.Resource
	for _, r := range regs {
		if !r.Custom {
			continue
		}
		out = append(out, rules.Resource{URN: r.URN, Type: r.Type, Name: r.Name, Parent: r.Parent, Props: ruleValues.object(r.State)})
	}
	return out
}
