package portal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/hookline/hookline/portal/albauth"
)

// SSOConfig maps the groups of people signed in at the load balancer to
// teams and admins (the file of hookline portal --oidc-config):
//
//	{"groupsClaim": "groups", "teams": {"payments": ["idp-payments"]}, "admins": ["idp-platform"]}
//
// GroupsClaim names the claim of x-amzn-oidc-data's payload that lists a
// person's groups: a JSON array of strings, or one string of names
// separated by commas or spaces. The payload holds what the IdP's user
// info endpoint returns, so the claim must be one that endpoint gives.
// A group belongs to at most one team; a member of an admin group is an
// admin whatever else they are.
type SSOConfig struct {
	GroupsClaim string              `json:"groupsClaim"`
	Teams       map[string][]string `json:"teams"`
	Admins      []string            `json:"admins"`
}

// LoadSSOConfig reads and checks an SSO config file.
func LoadSSOConfig(path string) (*SSOConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("oidc config: %w", err)
	}
	var c SSOConfig
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields() // a misspelt key would silently map nobody
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("oidc config %s: %w", path, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("oidc config %s: %w", path, err)
	}
	return &c, nil
}

// validate reports every problem of c at once.
func (c *SSOConfig) validate() error {
	var errs []error
	if strings.TrimSpace(c.GroupsClaim) == "" {
		errs = append(errs, errors.New(`groupsClaim is required: the claim listing a person's groups, e.g. "groups" or "cognito:groups"`))
	}
	owner := map[string]string{}
	for _, team := range sortedKeys(c.Teams) {
		if !teamRE.MatchString(team) {
			errs = append(errs, fmt.Errorf("team %q must be 1-10 lower-case letters or digits", team))
		}
		if len(c.Teams[team]) == 0 {
			errs = append(errs, fmt.Errorf("team %s lists no group", team))
		}
		for _, g := range c.Teams[team] {
			if err := checkGroup(g); err != nil {
				errs = append(errs, fmt.Errorf("team %s: %w", team, err))
			} else if o, ok := owner[g]; ok {
				errs = append(errs, fmt.Errorf("group %q is listed under teams %s and %s: a group belongs to one team", g, o, team))
			}
			owner[g] = team
		}
	}
	for _, g := range c.Admins {
		if err := checkGroup(g); err != nil {
			errs = append(errs, fmt.Errorf("admins: %w", err))
		}
	}
	if len(c.Teams) == 0 && len(c.Admins) == 0 {
		errs = append(errs, errors.New("no group is mapped: list teams, admins or both"))
	}
	return errors.Join(errs...)
}

func checkGroup(g string) error {
	if g == "" || g != strings.TrimSpace(g) || len(g) > 256 {
		return fmt.Errorf("group %q must be 1-256 characters without surrounding spaces", g)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// groups reads the groups claim of a payload.
func (c *SSOConfig) groups(payload map[string]any) ([]string, bool) {
	switch v := payload[c.GroupsClaim].(type) {
	case []any:
		var out []string
		for _, g := range v {
			if s, ok := g.(string); ok {
				out = append(out, s)
			}
		}
		return out, true
	case string:
		return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' }), true
	}
	return nil, false
}

// identify maps a verified payload to an identity, or says why it cannot:
// no groups claim, no mapped group, or groups of two teams.
func (c *SSOConfig) identify(payload map[string]any) (Identity, error) {
	groups, ok := c.groups(payload)
	if !ok {
		return Identity{}, fmt.Errorf("your sign-in carries no %q claim, which the portal reads your groups from: ask the platform team to have the IdP return it", c.GroupsClaim)
	}
	var teams []string
	for _, g := range groups {
		if slices.Contains(c.Admins, g) {
			return Identity{Admin: true}, nil
		}
		for team, gs := range c.Teams {
			if slices.Contains(gs, g) && !slices.Contains(teams, team) {
				teams = append(teams, team)
			}
		}
	}
	sort.Strings(teams)
	switch len(teams) {
	case 0:
		shown := groups
		if len(shown) > 10 {
			shown = shown[:10]
		}
		return Identity{}, fmt.Errorf("none of your groups (%s) is mapped to a team of the portal: ask the platform team to map one in the portal's oidc config", orNone(strings.Join(shown, ", ")))
	case 1:
		return Identity{Team: teams[0]}, nil
	}
	return Identity{}, fmt.Errorf("your groups map to teams %s: the portal acts for one team at a time, so ask the platform team to leave you in one of them", strings.Join(teams, " and "))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// signInError is a refused sign-in at the load balancer: the status it
// answers (401, 403, 503) and what to tell the person.
type signInError struct {
	status int
	msg    string
}

func (e *signInError) Error() string { return e.msg }

// albPrincipal reads the load balancer's sign-in of a page's request.
// present is whether it has one: without ALB sign-in configured, or
// without the header, the request is the session's to decide. With the
// header it alone decides: a header that does not verify or maps to no
// team is a *signInError, never a fall back to the session.
func (s *Server) albPrincipal(r *http.Request) (p Principal, present bool, err error) {
	if s.alb == nil {
		return Principal{}, false, nil
	}
	values := r.Header.Values(albauth.Header)
	switch len(values) {
	case 0:
		return Principal{}, false, nil
	case 1:
	default:
		return Principal{}, true, s.refuse(http.StatusUnauthorized, "the request carries x-amzn-oidc-data more than once: sign in again through the load balancer", nil)
	}
	claims, err := s.alb.Verify(r.Context(), values[0])
	switch {
	case errors.Is(err, albauth.ErrKeyUnavailable):
		return Principal{}, true, s.refuse(http.StatusServiceUnavailable, "the portal could not fetch the load balancer's public key to check your sign-in; retry in a moment", err)
	case err != nil:
		return Principal{}, true, s.refuse(http.StatusUnauthorized, "your sign-in at the load balancer was refused ("+err.Error()+"): sign in again", err)
	case claims.Subject == "":
		return Principal{}, true, s.refuse(http.StatusUnauthorized, "your sign-in at the load balancer carries no subject (sub): the portal cannot tell who you are", nil)
	}
	id, err := s.sso.identify(claims.Payload)
	if err != nil {
		return Principal{}, true, s.refuse(http.StatusForbidden, err.Error(), nil)
	}
	return Principal{Subject: claims.Subject, Email: claims.Email, Team: id.Team, Admin: id.Admin, Via: ViaALB}, true, nil
}

// refuse logs a refused sign-in and returns it.
func (s *Server) refuse(status int, msg string, cause error) error {
	args := []any{"via", ViaALB, "status", status, "reason", msg}
	if cause != nil {
		args = append(args, "error", cause.Error())
	}
	s.opts.Log.Warn("sign-in refused", args...)
	return &signInError{status: status, msg: msg}
}
