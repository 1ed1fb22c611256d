// Package rules holds hookline's policy rules as plain Go functions over
// resource properties. The policy pack (policy/) runs them inside the Pulumi
// engine, and `hookline plan` runs the very same functions over the offline
// plan. Property reads never panic: a value that is unknown during preview
// makes a rule skip what it cannot know yet.
package rules

import (
	"encoding/json"
	"strings"
)

// Unknown stands for a value the engine does not know yet (preview).
type Unknown struct{}

// Secret wraps a secret value; rules read through it.
type Secret struct{ V any }

// Resource is one resource as the rules see it. Props holds plain values
// (nil, bool, float64, string, []any, map[string]any), Unknown and Secret.
type Resource struct {
	URN, Type, Name, Parent string
	Props                   map[string]any
	// PropertyDependencies maps a property to the URNs it was computed
	// from; during preview it links resources whose ARNs are still unknown.
	PropertyDependencies map[string][]string
}

// Violation is one finding.
type Violation struct {
	Policy  string `json:"policy"`
	Level   string `json:"level"`
	URN     string `json:"urn"`
	Message string `json:"message"`
}

// state says what a property read found.
type state int

const (
	absent state = iota
	unknown
	present
)

// get reads a nested property; secrets are looked through.
func (r Resource) get(path ...string) (any, state) {
	var cur any = r.Props
	for _, k := range path {
		cur = unwrap(cur)
		if _, ok := cur.(Unknown); ok {
			return nil, unknown
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, absent
		}
		v, ok := m[k]
		if !ok || v == nil {
			return nil, absent
		}
		cur = v
	}
	cur = unwrap(cur)
	if _, ok := cur.(Unknown); ok {
		return nil, unknown
	}
	return cur, present
}

func unwrap(v any) any {
	for {
		s, ok := v.(Secret)
		if !ok {
			return v
		}
		v = s.V
	}
}

// str reads a string property.
func (r Resource) str(path ...string) (string, state) {
	v, st := r.get(path...)
	if st != present {
		return "", st
	}
	s, ok := v.(string)
	if !ok {
		return "", absent
	}
	return s, present
}

// boolean reads a bool property.
func (r Resource) boolean(path ...string) (bool, state) {
	v, st := r.get(path...)
	if st != present {
		return false, st
	}
	b, ok := v.(bool)
	if !ok {
		return false, absent
	}
	return b, present
}

// number reads a numeric property.
func (r Resource) number(path ...string) (float64, state) {
	v, st := r.get(path...)
	if st != present {
		return 0, st
	}
	switch n := v.(type) {
	case float64:
		return n, present
	case int:
		return float64(n), present
	}
	return 0, absent
}

// strings reads a list of strings; unknown when any element is.
func (r Resource) strings(path ...string) ([]string, state) {
	v, st := r.get(path...)
	if st != present {
		return nil, st
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, absent
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		e = unwrap(e)
		if _, ok := e.(Unknown); ok {
			return nil, unknown
		}
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out, present
}

// jsonDoc reads a property holding a JSON document (policies, redrive).
func (r Resource) jsonDoc(path ...string) (map[string]any, state) {
	v, st := r.get(path...)
	if st != present {
		return nil, st
	}
	switch t := v.(type) {
	case map[string]any:
		return t, present
	case string:
		var m map[string]any
		if err := json.Unmarshal([]byte(t), &m); err != nil {
			return nil, absent
		}
		return m, present
	}
	return nil, absent
}

func isSQSArn(s string) bool { return strings.HasPrefix(s, "arn:aws") && strings.Contains(s, ":sqs:") }
