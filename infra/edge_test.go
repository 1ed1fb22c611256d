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
// authorizer as well as the consumers, has the one tracing setting of the
// stack (hookline:tracing), and its role may send the traces exactly when
// it is Active (issue 27 item 9). dev sets tracing off, prod keeps the
// default.
func TestEveryFunctionIsTraced(t *testing.T) {
	for stack, want := range map[string]string{"dev": infra.LambdaTracingPassThrough, "prod": infra.LambdaTracingActive} {
		t.Run(stack, func(t *testing.T) {
			res := runPlan(t, "..", stack)
			if got := infra.LambdaTracingMode(res.Config); got != want {
				t.Fatalf("the %s stack's tracing is %s, want %s", stack, got, want)
			}
			checkTracing(t, res, res.Config.TracingOn(), stack == "dev")
		})
	}
}

// TestTracingFollowsTheStackKey: hookline:tracing: active makes every
// function Active, lets its role send traces and turns on a REST stage's
// X-Ray tracing; off makes every function PassThrough (which records no
// trace of its own), drops the X-Ray statement and turns the stage's
// tracing off. Both ingresses, both stacks.
func TestTracingFollowsTheStackKey(t *testing.T) {
	for _, tc := range []struct {
		name, stack string
		edit        func(string) string
	}{
		{"dev http", "dev", func(s string) string { return s }},
		{"dev rest", "dev", asREST},
		{"prod rest", "prod", func(s string) string { return s }},
	} {
		for _, mode := range []string{stackconfig.TracingActive, stackconfig.TracingOff} {
			t.Run(tc.name+" "+mode, func(t *testing.T) {
				res := runPlan(t, writeStack(t, tc.stack, func(s string) string { return withTracing(tc.edit(s), mode) }), tc.stack)
				if res.Config.Tracing != mode {
					t.Fatalf("the stack file says tracing %q, want %q", res.Config.Tracing, mode)
				}
				checkTracing(t, res, mode == stackconfig.TracingActive, true)
			})
		}
	}
}

// withTracing sets hookline:tracing in a stack file's text.
func withTracing(s, mode string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "hookline:tracing:") {
			lines = append(lines, l)
		}
	}
	return strings.Replace(strings.Join(lines, "\n"), "config:\n", "config:\n  hookline:tracing: "+mode+"\n", 1)
}

// checkTracing: every function is Active (on) or PassThrough, its role has
// the X-Ray statement exactly when Active, and a REST stage traces exactly
// when on.
func checkTracing(t *testing.T, res *plan.Result, on, wantAuthorizer bool) {
	t.Helper()
	want := infra.LambdaTracingPassThrough
	if on {
		want = infra.LambdaTracingActive
	}
	fns := res.Find("aws:lambda/function:Function")
	if len(fns) == 0 {
		t.Fatal("no functions")
	}
	authorizer := false
	for _, fn := range fns {
		if path(fn.Inputs, "tracingConfig.mode") != want {
			t.Errorf("%s: tracing %v, want %s", fn.Name, fn.Inputs["tracingConfig"], want)
		}
		if strings.Contains(fn.Name, "authorizer") {
			authorizer = true
		}
	}
	if !authorizer && wantAuthorizer {
		t.Fatal("the stack (a token source) has no authorizer function to check")
	}
	policies := 0
	for _, p := range res.Find("aws:iam/rolePolicy:RolePolicy") {
		if !strings.HasSuffix(p.Name, "-function") {
			continue
		}
		policies++
		pol, _ := p.Inputs["policy"].(string)
		if strings.Contains(pol, "xray:PutTraceSegments") != on {
			t.Errorf("%s: tracing %s, X-Ray statement %v: %s", p.Name, want, !on, pol)
		}
	}
	if policies != len(fns) {
		t.Errorf("%d function policies for %d functions", policies, len(fns))
	}
	if res.Config.HTTP() {
		return
	}
	stages := res.Find("aws:apigateway/stage:Stage")
	if len(stages) != 1 {
		t.Fatalf("%d REST stages", len(stages))
	}
	if stages[0].Inputs["xrayTracingEnabled"] != on {
		t.Errorf("stage xrayTracingEnabled %v, want %v", stages[0].Inputs["xrayTracingEnabled"], on)
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
