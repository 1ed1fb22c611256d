package infra_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/stackconfig"
)

// TestEveryFunctionIsTraced: every function of a stack, the edge
// authorizer as well as the consumers, has the one tracing setting, and
// its role may send the traces (issue 27 item 9).
func TestEveryFunctionIsTraced(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			res := runPlan(t, "..", stack)
			fns := res.Find("aws:lambda/function:Function")
			authorizer := false
			for _, fn := range fns {
				if path(fn.Inputs, "tracingConfig.mode") != infra.LambdaTracingMode {
					t.Errorf("%s: tracing %v, want %s", fn.Name, fn.Inputs["tracingConfig"], infra.LambdaTracingMode)
				}
				if strings.Contains(fn.Name, "authorizer") {
					authorizer = true
				}
			}
			if !authorizer && stack == "dev" {
				t.Fatal("the dev stack (a token source) has no authorizer function to check")
			}
			for _, p := range res.Find("aws:iam/rolePolicy:RolePolicy") {
				if !strings.HasSuffix(p.Name, "-function") {
					continue
				}
				if pol, _ := p.Inputs["policy"].(string); !strings.Contains(pol, "xray:PutTraceSegments") {
					t.Errorf("%s: the role of a traced function cannot send traces: %s", p.Name, pol)
				}
			}
		})
	}
}

// TestHTTPAccessLogsAreVendedLogs: an HTTP API's access log group is named
// under /aws/vendedlogs/, which CloudWatch Logs keeps enabled when the
// account's log resource policy is full; a REST API's (written with the
// account's CloudWatch role) keeps its name (issue 27 item 3).
func TestHTTPAccessLogsAreVendedLogs(t *testing.T) {
	for _, tc := range []struct {
		ingress, prefix string
		edit            func(string) string
	}{
		{"http", "/aws/vendedlogs/apigateway/hookline-dev-api/", func(s string) string { return s }},
		{"rest", "/aws/apigateway/hookline-dev-api/", asREST},
	} {
		t.Run(tc.ingress, func(t *testing.T) {
			res := runPlan(t, writeStack(t, "dev", tc.edit), "dev")
			lg := find(t, res.Find("aws:cloudwatch/logGroup:LogGroup"), "hookline-api-access")
			name, _ := lg.Inputs["name"].(string)
			if !strings.HasPrefix(name, tc.prefix) || name != res.Config.AccessLogGroup() {
				t.Errorf("access log group %q, want it under %s", name, tc.prefix)
			}
		})
	}
}

// TestAuthorizersWithinTheQuota: the stack creates exactly the authorizers
// stackconfig counts against API Gateway's quota, and an HTTP API with
// twelve token sources gets one token authorizer, cached per token and
// route, that every token route uses (issue 27 item 2).
func TestAuthorizersWithinTheQuota(t *testing.T) {
	count := func(res *plan.Result) int {
		return len(res.Find("aws:apigateway/authorizer:Authorizer")) + len(res.Find("aws:apigatewayv2/authorizer:Authorizer"))
	}
	for _, stack := range []string{"dev", "prod"} {
		res := runPlan(t, "..", stack)
		if n := count(res); n != res.Config.Authorizers() {
			t.Errorf("%s: %d authorizers, the config counts %d", stack, n, res.Config.Authorizers())
		}
	}
	rest := runPlan(t, writeStack(t, "dev", asREST), "dev")
	if n := count(rest); n != rest.Config.Authorizers() {
		t.Errorf("dev on rest: %d authorizers, the config counts %d", n, rest.Config.Authorizers())
	}

	raw, _, err := stackconfig.ReadStackFile("..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	var sources []map[string]any
	for i := range 12 {
		sources = append(sources, map[string]any{
			"name": fmt.Sprintf("sender%02d", i), "auth": map[string]any{"type": "token", "cacheTtlSeconds": 300 - i},
			"signature": map[string]any{"scheme": "stripe", "secretParameter": fmt.Sprintf("/hookline/dev/sender%02d/signing-secret", i)},
		})
	}
	b, _ := json.Marshal(sources)
	raw["hookline:sources"] = string(b)
	res, err := plan.Run(plan.Options{Dir: "..", Stack: "dev", Config: raw, Handler: harness.StubHandler})
	if err != nil {
		t.Fatal(err)
	}
	authz := res.Find("aws:apigatewayv2/authorizer:Authorizer")
	if len(authz) != 1 {
		t.Fatalf("%d authorizers for 12 token sources, want 1", len(authz))
	}
	a := authz[0].Inputs
	if fmt.Sprint(a["identitySources"]) != "[$request.querystring.token $context.routeKey]" || num(a["authorizerResultTtlInSeconds"]) != 289 {
		t.Errorf("token authorizer: identity sources %v (the route must be in the cache key), TTL %v (want the shortest, 289)",
			a["identitySources"], a["authorizerResultTtlInSeconds"])
	}
	ids := map[any]bool{}
	for _, r := range res.Find("aws:apigatewayv2/route:Route") {
		ids[r.Inputs["authorizerId"]] = true
	}
	if len(ids) != 1 {
		t.Errorf("token routes use %d authorizers, want the one: %v", len(ids), ids)
	}
}

// withDomain adds prod's custom domain to the dev stack file.
func withDomain(s string) string {
	return strings.Replace(s, "  hookline:throttle:", "  hookline:domain:\n    name: hooks.example.com\n    hostedZoneId: Z0123456789ABCDEFGHIJ\n  hookline:throttle:", 1)
}

// TestDeploymentServesEverythingTheStageServes: the deployment's trigger
// changes with whatever a stage serves only once deployed — the default
// endpoint switch (a domain added), an authorizer's cache TTL, the route's
// response mapping — on either ingress, holds the authorizer function's
// ARN, and stays put for an unrelated change (issue 27 item 1).
func TestDeploymentServesEverythingTheStageServes(t *testing.T) {
	for _, tc := range []struct {
		ingress, deployment string
		edit                func(string) string
	}{
		{"http", "aws:apigatewayv2/deployment:Deployment", func(s string) string { return s }},
		{"rest", "aws:apigateway/deployment:Deployment", asREST},
	} {
		t.Run(tc.ingress, func(t *testing.T) {
			triggers := func(edit func(string) string) map[string]any {
				res := runPlan(t, writeStack(t, "dev", func(s string) string { return edit(tc.edit(s)) }), "dev")
				deps := res.Find(tc.deployment)
				if len(deps) != 1 {
					t.Fatalf("%d deployments", len(deps))
				}
				m, _ := deps[0].Inputs["triggers"].(map[string]any)
				return m
			}
			base := triggers(func(s string) string { return s })
			if base[infra.TriggerServed] == nil || base[infra.TriggerAuthorizerFunction] == nil {
				t.Fatalf("triggers %v lack the served hash or the authorizer function", base)
			}
			if fn, _ := base[infra.TriggerAuthorizerFunction].(string); !strings.Contains(fn, "hookline-dev-authorizer") {
				t.Errorf("authorizer function trigger %q is not the edge authorizer's invoke ARN", fn)
			}
			for name, edit := range map[string]func(string) string{
				"a domain (the default endpoint disabled)": withDomain,
				"the token source's authorizer cache TTL": func(s string) string {
					return strings.Replace(s, "        type: token\n", "        type: token\n        cacheTtlSeconds: 60\n", 1)
				},
			} {
				if got := triggers(edit); got[infra.TriggerServed] == base[infra.TriggerServed] {
					t.Errorf("%s does not redeploy the stage", name)
				}
			}
			if got := triggers(func(s string) string { return strings.Replace(s, "logRetentionDays: 7", "logRetentionDays: 14", 1) }); got[infra.TriggerServed] != base[infra.TriggerServed] {
				t.Error("a change the stage does not serve redeploys it")
			}
		})
	}
}

// TestHTTPTriggerHashesWhatTheStageServes: the pure trigger of an HTTP
// stage moves with each thing the stage serves once deployed.
func TestHTTPTriggerHashesWhatTheStageServes(t *testing.T) {
	routes := []infra.HTTPRouteSpec{{Source: "a", RouteKey: "POST /a", ResponseParameters: infra.HTTPResponseParameters()}}
	authz := &infra.HTTPAuthorizerSpec{Name: "token-sources", Type: "REQUEST", IdentitySources: infra.HTTPTokenIdentitySources, TTL: 300}
	base := infra.HTTPDeploymentTriggers(routes, infra.HTTPServed{TokenAuthorizer: authz})[infra.TriggerServed]
	if again := infra.HTTPDeploymentTriggers(routes, infra.HTTPServed{TokenAuthorizer: authz})[infra.TriggerServed]; again != base {
		t.Fatal("equal inputs, different triggers")
	}
	ttl := *authz
	ttl.TTL = 60
	noMapping := []infra.HTTPRouteSpec{{Source: "a", RouteKey: "POST /a"}}
	for name, got := range map[string]string{
		"disableExecuteApiEndpoint": infra.HTTPDeploymentTriggers(routes, infra.HTTPServed{DisableExecuteAPIEndpoint: true, TokenAuthorizer: authz})[infra.TriggerServed],
		"authorizer TTL":            infra.HTTPDeploymentTriggers(routes, infra.HTTPServed{TokenAuthorizer: &ttl})[infra.TriggerServed],
		"authorizer removed":        infra.HTTPDeploymentTriggers(routes, infra.HTTPServed{})[infra.TriggerServed],
		"response mapping":          infra.HTTPDeploymentTriggers(noMapping, infra.HTTPServed{TokenAuthorizer: authz})[infra.TriggerServed],
	} {
		if got == base {
			t.Errorf("changing the %s leaves the trigger", name)
		}
	}
	rest := infra.DeploymentTriggers(nil, infra.RESTServed{})[infra.TriggerServed]
	for name, served := range map[string]infra.RESTServed{
		"disableExecuteApiEndpoint": {DisableExecuteAPIEndpoint: true},
		"authorizer":                {Authorizers: []infra.RESTAuthorizerSpec{{Name: "a-token", Type: "REQUEST", TTL: 300}}},
	} {
		if infra.DeploymentTriggers(nil, served)[infra.TriggerServed] == rest {
			t.Errorf("rest: changing the %s leaves the trigger", name)
		}
	}
}

// TestHTTPAnswersAcceptedWith202: every HTTP source's SQS-SendMessage
// integration remaps SQS's 200 to 202, as a REST API answers (issue 27
// item 4); the body cannot be remapped, so nothing else is mapped.
func TestHTTPAnswersAcceptedWith202(t *testing.T) {
	res := runPlan(t, "..", "dev")
	for _, in := range res.Find("aws:apigatewayv2/integration:Integration") {
		got, _ := in.Inputs["responseParameters"].([]any)
		if len(got) != 1 {
			t.Fatalf("%s: response parameters %v", in.Name, in.Inputs["responseParameters"])
		}
		m, _ := got[0].(map[string]any)
		if m["statusCode"] != "200" || path(m, "mappings.overwrite:statuscode") != "202" || len(m["mappings"].(map[string]any)) != 1 {
			t.Errorf("%s: response parameters %v, want 200 -> 202", in.Name, m)
		}
	}
}
