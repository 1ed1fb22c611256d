package contract

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// EnvAuthorizerRoutes is the environment variable through which the infra
// code tells the edge authorizer which routes it guards and how.
const EnvAuthorizerRoutes = "HOOKLINE_AUTHORIZER_ROUTES"

// TokenQueryParameter is the query string parameter that carries a token
// source's token: https://<endpoint>/<source>?token=<token>.
const TokenQueryParameter = "token"

// Edge check kinds of the authorizer.
const (
	// EdgeToken: the request's ?token= must equal one of the tokens in
	// TokenParameter; the source's API key (UsageKeyParameter) is handed
	// to API Gateway for its usage plan.
	EdgeToken = "token"
	// EdgeAPIKey: the x-api-key header is handed to API Gateway, which
	// checks it against the usage plans, as with a HEADER key source. Used
	// for apiKey sources of a REST API whose key source is AUTHORIZER.
	EdgeAPIKey = "apiKey"
)

// AuthorizerRoute is how the authorizer guards one source's route.
type AuthorizerRoute struct {
	Kind              string `json:"kind"`
	TokenParameter    string `json:"tokenParameter,omitempty"`
	UsageKeyParameter string `json:"usageKeyParameter,omitempty"`
}

// AuthorizerRoutes maps source names (the route's path segment) to routes.
type AuthorizerRoutes map[string]AuthorizerRoute

// Env renders the routes as the value of EnvAuthorizerRoutes.
func (r AuthorizerRoutes) Env() string {
	b, err := json.Marshal(r) // map keys are sorted: a stable value
	if err != nil {
		panic(err) // plain strings: cannot happen
	}
	return string(b)
}

// ParseAuthorizerRoutes reads EnvAuthorizerRoutes back, checking every route.
func ParseAuthorizerRoutes(v string) (AuthorizerRoutes, error) {
	var r AuthorizerRoutes
	if err := json.Unmarshal([]byte(v), &r); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object of routes: %v", EnvAuthorizerRoutes, err)
	}
	if len(r) == 0 {
		return nil, fmt.Errorf("%s names no route", EnvAuthorizerRoutes)
	}
	names := make([]string, 0, len(r))
	for n := range r {
		names = append(names, n)
	}
	sort.Strings(names)
	var problems []string
	for _, n := range names {
		rt := r[n]
		switch rt.Kind {
		case EdgeToken:
			// usageKeyParameter is set on a REST API (the usage plan's key)
			// and empty on an HTTP API, which has no usage plans.
			if rt.TokenParameter == "" {
				problems = append(problems, n+": a token route needs tokenParameter")
			}
		case EdgeAPIKey:
		default:
			problems = append(problems, fmt.Sprintf("%s: unknown kind %q", n, rt.Kind))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s: %s", EnvAuthorizerRoutes, strings.Join(problems, "; "))
	}
	return r, nil
}
