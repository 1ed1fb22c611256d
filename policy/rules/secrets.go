package rules

import (
	"fmt"
	"path"
	"strings"
)

// TypeRolePolicy is an IAM role's inline policy.
const TypeRolePolicy = "aws:iam/rolePolicy:RolePolicy"

// tagEnvironment is the tag every taggable resource of a stack carries.
const tagEnvironment = "hookline:environment"

// ssmReads are the SSM actions that return a parameter's value.
var ssmReads = []string{"ssm:getparameter", "ssm:getparameters", "ssm:getparametersbypath", "ssm:getparameterhistory"}

// secretScope: every SSM parameter a role policy of the stack lets its role
// read lies under the stack's own prefix /hookline/<environment>/ (the
// environment is the hookline:environment tag its resources carry). A source
// naming another team's signing secret, or the account's database password,
// would otherwise give that team's function — and, through a forward
// processor, the team — a way to read or use it.
func secretScope(rs []Resource, _ Config) []Finding {
	env := ""
	for _, r := range rs {
		if v, st := r.str("tags", tagEnvironment); st == present && v != "" {
			env = v
			break
		}
	}
	if env == "" {
		return nil // not a hookline stack
	}
	prefix := "parameter/hookline/" + env + "/"
	var out []Finding
	for _, r := range rs {
		if r.Type != TypeRolePolicy {
			continue
		}
		doc, st := r.jsonDoc("policy")
		if st != present {
			continue // unknown: could-not-judge names it
		}
		for _, stmt := range list(doc["Statement"]) {
			m, ok := stmt.(map[string]any)
			if !ok || m["Effect"] != "Allow" || !readsSSM(list(m["Action"])) {
				continue
			}
			if _, not := m["NotResource"]; not {
				out = append(out, Finding{r.URN, fmt.Sprintf("role policy %s lets its role read every SSM parameter but some (NotResource): name the parameters under /hookline/%s/ instead", r.Name, env)})
				continue
			}
			for _, res := range list(m["Resource"]) {
				arn, _ := res.(string)
				parts := strings.SplitN(arn, ":", 6)
				if len(parts) == 6 && parts[2] == "ssm" && strings.HasPrefix(parts[5], prefix) && !strings.ContainsAny(parts[5], "*?") {
					continue
				}
				out = append(out, Finding{r.URN, fmt.Sprintf("role policy %s lets its role read SSM parameter %q, outside this stack's prefix /hookline/%s/: "+
					"keep every secret a source names (signature.secretParameter, processor.secretParameter, auth.tokenParameter) under /hookline/%s/ — the defaults are — "+
					"so no stack can read another team's secrets or the account's", r.Name, arn, env, env)})
			}
		}
	}
	return out
}

// readsSSM reports whether any of the IAM actions (wildcards allowed) grants
// reading a parameter's value.
func readsSSM(actions []any) bool {
	for _, a := range actions {
		s, _ := a.(string)
		for _, read := range ssmReads {
			if ok, _ := path.Match(strings.ToLower(s), read); ok {
				return true
			}
		}
	}
	return false
}

// list reads a policy field that IAM lets be one value or a list of them.
func list(v any) []any {
	switch t := v.(type) {
	case nil:
		return nil
	case []any:
		return t
	default:
		return []any{t}
	}
}
