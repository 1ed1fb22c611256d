package jobs

import (
	"testing"

	"github.com/hookline/hookline/policy/rules"
)

// TestGroupBySource: steps and findings land under the source whose
// resources they concern (the longest source name wins: "orders-eu" is not
// "orders"), whichever of the components' names for a source's resources
// they carry (alarms, usage plan, authorizer), the rest under the stack;
// replacements are counted.
func TestGroupBySource(t *testing.T) {
	urn := func(name string) string {
		return "urn:pulumi:pay-dev::hookline::hookline:infra:Webhook$aws:sqs/queue:Queue::" + name
	}
	steps := []Step{
		{Op: "create", URN: urn("hookline-orders-queue")},
		{Op: "replace", URN: urn("hookline-orders-eu-queue")},
		{Op: "create", URN: urn("hookline-api")},
		{Op: "create", URN: urn("hookline-orders")},
		{Op: "create", URN: urn("hookline-pay-dev-orders-dlq-not-empty")},
		{Op: "create", URN: urn("hookline-stage-orders-eu-plan")},
		{Op: "create", URN: urn("hookline-authorizer-orders-token")},
		{Op: "create", URN: urn("hookline-pay-dev-api-5xx")},
	}
	findings := []rules.Violation{{Policy: "fifo-ordering", URN: urn("hookline-orders-eu-queue")}, {Policy: "x", URN: urn("hookline-orders-dlq")}}
	got := groupBySource("pay-dev", []string{"orders", "orders-eu"}, steps, findings, nil)
	if len(got) != 3 || got[0].Source != "orders" || got[1].Source != "orders-eu" || got[2].Source != "" {
		t.Fatalf("groups %+v", got)
	}
	if len(got[0].Steps) != 4 || len(got[1].Steps) != 2 || len(got[2].Steps) != 2 || got[1].Replacements != 1 || got[0].Replacements != 0 {
		t.Errorf("steps %+v", got)
	}
	if len(got[1].Steps[0].Findings) != 1 || len(got[0].Findings) != 1 || got[0].Findings[0].Policy != "x" {
		t.Errorf("findings beside their resources: %+v", got)
	}
}
