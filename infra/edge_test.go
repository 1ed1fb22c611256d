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
