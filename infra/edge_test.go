package infra_test

import (
	"strings"
	"testing"

	"github.com/hookline/hookline/infra"
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
