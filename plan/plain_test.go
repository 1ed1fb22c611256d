package plan_test

import (
	"encoding/json"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/policy/rules"
)

// TestPlain: the JSON plan shows secrets and unknowns as placeholders, never
// their values, and keeps everything else as plain JSON.
func TestPlain(t *testing.T) {
	m := resource.PropertyMap{
		"name":    resource.NewProperty("q.fifo"),
		"fifo":    resource.NewProperty(true),
		"count":   resource.NewProperty(5.0),
		"secret":  resource.MakeSecret(resource.NewProperty("s3cret")),
		"unknown": resource.MakeComputed(resource.NewProperty("")),
		"list":    resource.NewProperty([]resource.PropertyValue{resource.NewProperty("a"), resource.MakeSecret(resource.NewProperty("b"))}),
		"nested":  resource.NewProperty(resource.PropertyMap{"x": resource.NewProperty("y")}),
		"output":  resource.NewProperty(resource.Output{Known: false}),
	}
	b, _ := json.Marshal(plan.PlainMap(m))
	want := `{"count":5,"fifo":true,"list":["a","[secret]"],"name":"q.fifo","nested":{"x":"y"},"output":"[unknown]","secret":"[secret]","unknown":"[unknown]"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

// TestRuleResources: the rules read through secrets, see unknowns as
// unknown, and get custom resources only.
func TestRuleResources(t *testing.T) {
	regs := []awsmodel.Registered{
		{URN: "c", Type: "hookline:infra:Source", Custom: false},
		{URN: "q", Type: rules.TypeQueue, Name: "q", Custom: true, State: resource.PropertyMap{
			"fifoQueue":                 resource.MakeSecret(resource.NewProperty(false)),
			"contentBasedDeduplication": resource.MakeComputed(resource.NewProperty("")),
		}},
	}
	rs := plan.RuleResources(regs)
	if len(rs) != 1 || rs[0].URN != "q" {
		t.Fatalf("%+v", rs)
	}
	vs := rules.Evaluate(rs, rules.Config{})
	found := false
	for _, v := range vs {
		if v.Policy == "fifo-ordering" {
			found = true
		}
	}
	if !found {
		t.Errorf("a secret fifoQueue=false was not read: %v", vs)
	}
}
