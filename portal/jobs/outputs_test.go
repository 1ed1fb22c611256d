package jobs_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"

	"github.com/hookline/hookline/portal/jobs"
)

// TestReadOutputs: the engine's wrapped values (a secret one among them)
// decode into the typed outputs; none is nil; an output the struct does not
// know is an error naming it; the API keys reach the owning team only.
func TestReadOutputs(t *testing.T) {
	if o, err := jobs.ReadOutputs(auto.OutputMap{}); o != nil || err != nil {
		t.Errorf("no outputs: %v %v", o, err)
	}
	raw := auto.OutputMap{
		"endpoint": {Value: "https://hooks.example.com"},
		"apiKeys":  {Value: map[string]any{"orders": "k-123"}, Secret: true},
		"sources": {Value: map[string]any{"orders": map[string]any{"url": "https://hooks.example.com/orders",
			"queueUrl": "q", "queueArn": "qa", "dlqUrl": "d", "dlqArn": "da", "functionName": "f", "auth": "apiKey"}}},
	}
	o, err := jobs.ReadOutputs(raw)
	if err != nil {
		t.Fatal(err)
	}
	if o.Endpoint != "https://hooks.example.com" || o.APIKeys["orders"] != "k-123" || o.Sources["orders"].DLQURL != "d" {
		t.Errorf("decoded %+v", o)
	}
	for _, tc := range []struct {
		name  string
		owner bool
		keys  bool
	}{{"owning team", true, true}, {"anyone else", false, false}} {
		t.Run(tc.name, func(t *testing.T) {
			v := jobs.VisibleOutputs(o, tc.owner)
			if (v.APIKeys != nil) != tc.keys || v.Endpoint != o.Endpoint {
				t.Errorf("sees %+v", v)
			}
		})
	}
	if o.APIKeys == nil {
		t.Error("scoping a view changed the stack's outputs")
	}
	raw["renamed"] = auto.OutputValue{Value: "x"}
	if _, err := jobs.ReadOutputs(raw); err == nil || !strings.Contains(err.Error(), "renamed") {
		t.Errorf("an unknown output: %v", err)
	}
}
