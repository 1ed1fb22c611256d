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

// TestDeletedSourceGroupsItsSteps: the steps of a source the request drops
// are grouped under it, with what its deletion loses, never under the
// stack.
func TestDeletedSourceGroupsItsSteps(t *testing.T) {
	steps := []Step{{Op: "delete", Type: queueType, Name: "hookline-refunds-queue", URN: "urn:pulumi:pay-web::hookline::aws:sqs/queue:Queue::hookline-refunds-queue"},
		{Op: "update", Type: "aws:apigateway/stage:Stage", Name: "hookline-stage", URN: "urn:pulumi:pay-web::hookline::aws:apigateway/stage:Stage::hookline-stage"}}
	n := 3
	d := Deletion{Source: "refunds", Whole: true, Messages: &n}
	d.describe()
	got := groupBySource("pay-web", []string{"orders"}, steps, nil, []Deletion{d})
	if len(got) != 3 || got[1].Source != "refunds" || got[1].Deleted == nil || len(got[1].Steps) != 1 || len(got[2].Steps) != 1 {
		t.Fatalf("groups: %+v", got)
	}
	if want := "refunds — will be deleted, with its queue and DLQ holding 3 messages"; got[1].Deleted.Text != want {
		t.Errorf("text %q, want %q", got[1].Deleted.Text, want)
	}
	d = Deletion{Source: "orders", Queues: []string{"hookline-orders-queue"}}
	d.describe()
	if want := "orders — its hookline-orders-queue will be deleted (a replaced queue starts empty), holding an unknown number of messages"; d.Text != want {
		t.Errorf("text %q, want %q", d.Text, want)
	}
}
