package portal

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/hookline/hookline/portal/jobs"
	"github.com/hookline/hookline/stackconfig"
)

// Request describes a team's webhook environment: the stack config's keys,
// without the namespace, plus the environment name.
type Request struct {
	Env    string `json:"env"`
	Region string `json:"region"`
	// Ingress is rest (a REST API, the default) or http (an HTTP API).
	Ingress string `json:"ingress,omitempty"`
	// Tracing is active (X-Ray on every function, the default) or off
	// (hookline:tracing).
	Tracing          string                `json:"tracing,omitempty"`
	Throttle         *stackconfig.Throttle `json:"throttle,omitempty"`
	LogRetentionDays int                   `json:"logRetentionDays,omitempty"`
	AlarmEmails      []string              `json:"alarmEmails,omitempty"`
	Sources          []json.RawMessage     `json:"sources"`
	// ConfirmDeletes names the sources whose deletion an apply confirms
	// (a source dropped from the request, or a queue of it replaced):
	// apply only, and no part of the request's hash or config.
	ConfirmDeletes []string `json:"confirmDeletes,omitempty"`
}

var envRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,4}$`)

// FieldError is a request that is wrong, naming its field: the jobs
// service's InvalidError (a 400).
type FieldError = jobs.InvalidError

// FormError is a request with every one of its problems, each naming its
// field and said in the request's own words (a 400).
type FormError struct {
	Problems []*FieldError
}

// Error lists every problem.
func (e *FormError) Error() string {
	var parts []string
	for _, p := range e.Problems {
		parts = append(parts, p.Error())
	}
	return strings.Join(parts, "; ")
}

var (
	stackFileRE = regexp.MustCompile(`\s*(in|of) Pulumi\.[A-Za-z0-9_.-]+\.yaml|Pulumi\.[A-Za-z0-9_.-]+\.yaml`)
	configKeyRE = regexp.MustCompile(`\b(hookline|aws):([A-Za-z])`)
)

// formWords says a message of the stack config's validation in the words
// of a request: the ingress by the form's names for it, keys without their
// namespace, and no stack file (a portal user has none).
func formWords(msg string) string {
	msg = strings.NewReplacer("hookline:ingress: http", `ingress "http" (HTTP API)`, "hookline:ingress: rest", `ingress "rest" (REST API)`).Replace(msg)
	msg = stackFileRE.ReplaceAllString(msg, "")
	return configKeyRE.ReplaceAllString(msg, "$2")
}

// StackName is a team environment's stack.
func StackName(team, env string) string { return team + "-" + env }

// ParseRequest decodes a request body strictly.
func ParseRequest(body []byte) (*Request, error) {
	var r Request
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, &FieldError{Field: "body", Message: err.Error()}
	}
	return &r, nil
}

// Config turns a request into the stack's raw config and validates it with
// the program's own validation; errors name the request's field.
func (r *Request) Config(team string) (map[string]string, *stackconfig.Config, error) {
	var problems []*FieldError
	env := r.Env
	if !envRE.MatchString(r.Env) {
		problems = append(problems, &FieldError{Field: "env", Message: fmt.Sprintf("%q must be 1-5 lower-case letters or digits, starting with a letter", r.Env)})
		env = "x" // a valid stand-in, so every other problem is found too
	}
	if r.Region == "" {
		problems = append(problems, &FieldError{Field: "region", Message: "required"})
	}
	raw := map[string]string{
		stackconfig.RegionKey:              r.Region,
		"hookline:environment":             StackName(team, env),
		"hookline:tags":                    fmt.Sprintf(`{"team":%q}`, team),
		"hookline:manageApiGatewayAccount": "false",
	}
	put := func(key string, v any) {
		b, _ := json.Marshal(v)
		raw["hookline:"+key] = string(b)
	}
	if r.Ingress != "" {
		raw["hookline:ingress"] = r.Ingress
	}
	if r.Tracing != "" {
		raw["hookline:tracing"] = r.Tracing
	}
	put("sources", r.Sources)
	if r.Throttle != nil {
		put("throttle", r.Throttle)
	}
	if r.LogRetentionDays != 0 {
		put("logRetentionDays", r.LogRetentionDays)
	}
	if len(r.AlarmEmails) > 0 {
		put("alarmEmails", r.AlarmEmails)
	}
	cfg, err := stackconfig.Load(StackName(team, env), raw, true, nil)
	if err != nil {
		var ce *stackconfig.Error
		if !errors.As(err, &ce) || len(ce.Problems) == 0 {
			return nil, nil, &FieldError{Field: "body", Message: formWords(err.Error())}
		}
		for _, p := range ce.Problems {
			field := strings.TrimPrefix(strings.TrimPrefix(p.Key, "hookline:"), "aws:")
			if field == "environment" {
				field = "env"
			}
			if slices.ContainsFunc(problems, func(q *FieldError) bool { return q.Field == field }) {
				continue // said already, in the request's terms
			}
			problems = append(problems, &FieldError{Field: field, Message: formWords(p.Message)})
		}
	} else if perr := ownParameters(cfg); perr != nil {
		problems = append(problems, perr)
	}
	if len(problems) > 0 {
		return nil, nil, &FormError{Problems: problems}
	}
	return raw, cfg, nil
}

// ownParameters refuses a source that names an SSM parameter outside the
// stack's prefix: its function's role would be allowed to read it, so a team
// could read (or, through a forward processor, sign with) another team's
// secret or any parameter of the account.
func ownParameters(cfg *stackconfig.Config) *FieldError {
	prefix := cfg.ParameterPrefix()
	for i, s := range cfg.Sources {
		for _, p := range []struct{ field, name string }{
			{"signature.secretParameter", s.Signature.SecretParameter},
			{"processor.secretParameter", s.Processor.SecretParameter},
			{"auth.tokenParameter", s.Auth.TokenParameter},
		} {
			if p.name != "" && !strings.HasPrefix(p.name, prefix) {
				return &FieldError{Field: fmt.Sprintf("sources[%d].%s", i, p.field), Message: fmt.Sprintf(
					"%q is outside this stack's parameters (%s…): a stack's functions read only its own; leave it empty for the default name", p.name, prefix)}
			}
		}
	}
	return nil
}

// Hash identifies a request's content: apply needs a passed preview of the
// same hash.
func (r *Request) Hash(team string) string {
	c := *r
	c.ConfirmDeletes = nil // a confirmation, not the request
	b, _ := json.Marshal(struct {
		Team string
		R    *Request
	}{team, &c})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// jobRequest is the request as the jobs service runs it: its stack's raw
// config (from Config), its hash and its sources' names.
func (r *Request) jobRequest(team string, raw map[string]string) jobs.Request {
	var names []string
	for _, src := range r.Sources {
		var s struct {
			Name string `json:"name"`
		}
		if json.Unmarshal(src, &s) == nil && s.Name != "" {
			names = append(names, s.Name)
		}
	}
	return jobs.Request{Config: raw, Hash: r.Hash(team), Sources: names}
}

// stackRef checks the team and environment of a path or form with the rules
// a new stack's names follow (a decoded "../" can never reach the engine's
// file system), and that id may see the team's stacks (else the stack is
// not found: a name reveals nothing).
func stackRef(id Identity, team, env string) error {
	switch {
	case !teamRE.MatchString(team):
		return &FieldError{Field: "team", Message: fmt.Sprintf("%q is not a team name (%s)", team, teamRE)}
	case !envRE.MatchString(env):
		return &FieldError{Field: "env", Message: fmt.Sprintf("%q must be 1-5 lower-case letters or digits, starting with a letter", env)}
	case !id.may(team):
		return &jobs.NotFoundError{Message: "no such stack"}
	}
	return nil
}

// pathStack reads and checks the team and environment of a
// /api/stacks/{team}/{env} path.
func pathStack(r *http.Request, id Identity) (team, env string, err error) {
	team, env = r.PathValue("team"), r.PathValue("env")
	if err := stackRef(id, team, env); err != nil {
		return "", "", err
	}
	return team, env, nil
}

// readRequest reads the body of a /api/stacks/{team}/{env} request and
// validates it against the path's team and env: the team, the request and
// its stack's raw config.
func readRequest(r *http.Request, id Identity) (string, *Request, map[string]string, error) {
	team, env, err := pathStack(r, id)
	if err != nil {
		return "", nil, nil, err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return "", nil, nil, err
		}
		return "", nil, nil, &FieldError{Field: "body", Message: err.Error()}
	}
	req, err := ParseRequest(body)
	if err != nil {
		return "", nil, nil, err
	}
	if req.Env == "" {
		req.Env = env
	}
	if req.Env != env {
		return "", nil, nil, &FieldError{Field: "env", Message: fmt.Sprintf("%q does not match the stack's environment %q", req.Env, env)}
	}
	raw, _, err := req.Config(team)
	if err != nil {
		return "", nil, nil, err
	}
	noteOf(r).hash = req.Hash(team)
	return team, req, raw, nil
}
