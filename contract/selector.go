package contract

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"sync"
)

// SelectorKind says where a selector reads its value from.
type SelectorKind string

const (
	// KindSource selects the source name itself (one message group per source).
	KindSource SelectorKind = "source"
	// KindHeader selects a request header, looked up case-insensitively.
	KindHeader SelectorKind = "header"
	// KindBody selects a value from a JSON body with a simple JSONPath ($.a.b[0]).
	KindBody SelectorKind = "body"
)

// Selector names a value of an incoming request: a header or a JSON body path.
// It is written as "source", "header:<Name>" or "body:<JSONPath>".
type Selector struct {
	Kind SelectorKind
	// Name is the header name (KindHeader) or the JSONPath (KindBody).
	Name string
}

var (
	// headerNameRE is deliberately narrower than RFC 9110 tokens: the name is
	// embedded in a VTL string literal, so quotes, '$' and '#' are never allowed.
	headerNameRE = lazyRE(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	// jsonPathRE accepts the dotted/indexed subset of JSONPath that API
	// Gateway's $input.path understands unambiguously.
	jsonPathRE = lazyRE(`^\$(\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]{1,4}\])+$`)
)

// ParseSelector parses "source", "header:<Name>" or "body:<JSONPath>".
// allowSource says whether the bare "source" form is meaningful for the caller.
func ParseSelector(s string, allowSource bool) (Selector, error) {
	if s == string(KindSource) {
		if !allowSource {
			return Selector{}, fmt.Errorf("%q is not allowed here; use header:<Name> or body:<JSONPath>", s)
		}
		return Selector{Kind: KindSource}, nil
	}
	kind, name, ok := strings.Cut(s, ":")
	if !ok {
		if allowSource {
			return Selector{}, fmt.Errorf("%q: want source, header:<Name> or body:<JSONPath>", s)
		}
		return Selector{}, fmt.Errorf("%q: want header:<Name> or body:<JSONPath>", s)
	}
	switch SelectorKind(kind) {
	case KindHeader:
		if !headerNameRE().MatchString(name) {
			return Selector{}, fmt.Errorf("%q: header name must be letters, digits, '-' or '_' (at most 64)", s)
		}
		return Selector{Kind: KindHeader, Name: name}, nil
	case KindBody:
		if !jsonPathRE().MatchString(name) {
			return Selector{}, fmt.Errorf("%q: body path must look like $.field.sub or $.items[0]", s)
		}
		return Selector{Kind: KindBody, Name: name}, nil
	default:
		return Selector{}, fmt.Errorf("%q: unknown selector kind %q (want header or body)", s, kind)
	}
}

// String renders the selector in the form ParseSelector reads.
func (s Selector) String() string {
	switch s.Kind {
	case "":
		return ""
	case KindSource:
		return string(KindSource)
	default:
		return string(s.Kind) + ":" + s.Name
	}
}

// IsZero reports whether the selector selects nothing.
func (s Selector) IsZero() bool { return s.Kind == "" }

// MarshalText writes the selector in the form ParseSelector reads.
func (s Selector) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a selector once, where configuration is decoded; an
// empty text is the zero selector. Whether the "source" form fits is the
// caller's to judge (it does for groupBy, not for an event id). A malformed
// selector is reported as a *json.UnmarshalTypeError, which encoding/json
// fills with the field it was decoding, so a configuration error can name
// the key.
func (s *Selector) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*s = Selector{}
		return nil
	}
	sel, err := ParseSelector(string(text), true)
	if err != nil {
		return &json.UnmarshalTypeError{Value: err.Error(), Type: reflect.TypeFor[Selector]()}
	}
	*s = sel
	return nil
}

// lazyRE compiles a pattern on first use: the handler imports this package,
// and a cold start should not pay for validation it never runs.
func lazyRE(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}
