package stackconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hookline/hookline/contract"
)

// Problem is one invalid configuration value.
type Problem struct {
	// Key is the full config key with a path into structured values,
	// e.g. hookline:sources[1].maxReceiveCount.
	Key string
	// Message says what is wrong and what is allowed.
	Message string
}

// Error lists every problem of a stack's configuration, naming the stack file.
type Error struct {
	File     string
	Problems []Problem
}

// Error renders one line per problem, each naming the key.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: invalid configuration", e.File)
	if len(e.Problems) == 1 {
		fmt.Fprintf(&b, ": %s: %s", e.Problems[0].Key, e.Problems[0].Message)
		return b.String()
	}
	fmt.Fprintf(&b, " (%d problems)", len(e.Problems))
	for _, p := range e.Problems {
		fmt.Fprintf(&b, "\n  %s: %s", p.Key, p.Message)
	}
	return b.String()
}

// StackFile is the file a stack's configuration lives in.
func StackFile(stack string) string { return "Pulumi." + stack + ".yaml" }

// topLevel maps every hookline key to the field it decodes into.
var topLevel = []string{
	"environment", "ingress", "domain", "throttle", "logRetentionDays", "alarmEmails",
	"alarms", "tags", "manageApiGatewayAccount", "accessLogs", "tracing", "archive", "sources", "signingSecrets", "forwardSecrets", "tokens", "traffic",
}

// secretKeys must be set with `pulumi config set --secret`.
var secretKeys = []string{"signingSecrets", "forwardSecrets", "tokens"}

// Keys lists every config key hookline reads, fully qualified.
func Keys() []string {
	out := []string{RegionKey}
	for _, k := range topLevel {
		out = append(out, Namespace+":"+k)
	}
	return out
}

// Load builds the typed configuration of stack from raw config values, keyed
// as Pulumi passes them to a program ("hookline:sources", "aws:region") with
// structured values as JSON text. When complete is true, raw holds every key
// of the stack, and unknown hookline keys are errors too. Defaults are applied
// before validation; every problem found is reported at once. secret lists
// the keys whose values are encrypted in the stack file.
func Load(stack string, raw map[string]string, complete bool, secret []string) (*Config, error) {
	c := &Config{Stack: stack, File: StackFile(stack)}
	v := &validator{}

	if complete {
		known := map[string]bool{}
		for _, k := range Keys() {
			known[k] = true
		}
		var unknown []string
		for k := range raw {
			if strings.HasPrefix(k, Namespace+":") && !known[k] {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		for _, k := range unknown {
			if s := suggest(strings.TrimPrefix(k, Namespace+":"), topLevel); s != "" {
				v.add(k, "unknown key: did you mean %s:%s? (known: %s)", Namespace, s, strings.Join(topLevel, ", "))
			} else {
				v.add(k, "unknown key (known: %s)", strings.Join(topLevel, ", "))
			}
		}
	}

	c.Region = raw[RegionKey]
	if c.Region == "" {
		v.add(RegionKey, "required: the AWS region to deploy to (pulumi config set aws:region us-east-1)")
	}

	str := func(key string, dst *string) {
		if s, ok := raw[Namespace+":"+key]; ok {
			*dst = s
		}
	}
	str("environment", &c.Environment)
	str("ingress", &c.Ingress)
	str("tracing", &c.Tracing)

	if s, ok := raw[Namespace+":manageApiGatewayAccount"]; ok {
		b, err := strconv.ParseBool(s)
		if err != nil {
			v.add(Namespace+":manageApiGatewayAccount", "want true or false, got %q", s)
		}
		c.ManageAPIGatewayAccount = b
	}
	if s, ok := raw[Namespace+":accessLogs"]; ok {
		b, err := strconv.ParseBool(s)
		if err != nil {
			v.add(Namespace+":accessLogs", "want true or false, got %q", s)
		}
		c.AccessLogs = &b
	}
	if s, ok := raw[Namespace+":logRetentionDays"]; ok {
		n, err := strconv.Atoi(s)
		if err != nil {
			v.add(Namespace+":logRetentionDays", "want a whole number of days, got %q", s)
		}
		c.LogRetentionDays = n
	}
	v.decode(raw, "domain", &c.Domain)
	v.decode(raw, "throttle", &c.Throttle)
	v.decode(raw, "alarms", &c.Alarms)
	v.decode(raw, "alarmEmails", &c.AlarmEmails)
	v.decode(raw, "tags", &c.Tags)
	v.decode(raw, "traffic", &c.Traffic)
	v.decode(raw, "archive", &c.Archive)
	for _, k := range secretKeys {
		key := Namespace + ":" + k
		if _, ok := raw[key]; ok && !slices.Contains(secret, key) {
			v.add(key, "holds secrets in plain text: set it with pulumi config set --secret --path '%s.<source>' <value>", key)
		}
	}
	v.decode(raw, "signingSecrets", &c.SigningSecrets)
	v.decode(raw, "forwardSecrets", &c.ForwardSecrets)
	v.decode(raw, "tokens", &c.Tokens)

	// Sources are decoded one by one so a problem names its index.
	if s, ok := raw[Namespace+":sources"]; ok {
		var items []json.RawMessage
		if err := json.Unmarshal([]byte(s), &items); err != nil {
			v.add(Namespace+":sources", "want a list of sources: %v", err)
		}
		for i, item := range items {
			var src Source
			v.decodeJSON(fmt.Sprintf("%s:sources[%d]", Namespace, i), item, &src)
			c.Sources = append(c.Sources, src)
		}
	}

	if len(v.problems) == 0 {
		c.applyDefaults()
		c.validate(v)
	}
	if len(v.problems) > 0 {
		return nil, &Error{File: c.File, Problems: v.problems}
	}
	return c, nil
}

type validator struct{ problems []Problem }

func (v *validator) add(key, format string, args ...any) {
	v.problems = append(v.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) decode(raw map[string]string, key string, dst any) {
	if s, ok := raw[Namespace+":"+key]; ok {
		v.decodeJSON(Namespace+":"+key, []byte(s), dst)
	}
}

// decodeJSON decodes strictly: an unknown field or a value of the wrong kind
// is a problem at key.
func (v *validator) decodeJSON(key string, data []byte, dst any) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		return
	}
	var typeErr *json.UnmarshalTypeError
	var doc any
	_ = json.Unmarshal(data, &doc)
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "" && typeErr.Type == reflect.TypeFor[contract.Selector]():
		v.add(key+"."+typeErr.Field, "%s", typeErr.Value) // the selector's own message
	case errors.As(err, &typeErr):
		at := key
		if typeErr.Field != "" {
			at += "." + typeErr.Field
		}
		got := "a JSON " + typeErr.Value
		if val, ok := valueAt(doc, typeErr.Field); ok {
			got = describe(val)
		}
		v.add(at, "want %s, got %s", kindName(typeErr.Type), got)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		path, known, found := unknownKey(reflect.TypeOf(dst), doc, key)
		if !found {
			v.add(key, "unknown key %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
			break
		}
		name := path[strings.LastIndexAny(path, ".]")+1:]
		if s := suggest(name, known); s != "" {
			v.add(path, "unknown key: did you mean %s? (known here: %s)", path[:len(path)-len(name)]+s, strings.Join(known, ", "))
		} else {
			v.add(path, "unknown key (known here: %s)", strings.Join(known, ", "))
		}
	default:
		v.add(key, "not valid: %v", err)
	}
}
