package portal

import (
	"strings"
	"testing"
)

// TestFormWords: the stack config's messages as a portal user reads them:
// no namespace, no stack file, the ingress by the form's names.
func TestFormWords(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"ingress", "apiKey has no meaning with hookline:ingress: http: an HTTP API has no API keys. Use token, or hookline:ingress: rest",
			`apiKey has no meaning with ingress "http" (HTTP API): an HTTP API has no API keys. Use token, or ingress "rest" (REST API)`},
		{"stack file", "set hookline:accessLogs: false in Pulumi.pay-web.yaml to deploy without access logs", "set accessLogs: false to deploy without access logs"},
		{"key", "aws:region is required", "region is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := formWords(tc.in); got != tc.want {
				t.Errorf("formWords(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestEditFormIsTheConfig: the edit form shows a stack's sources as block
// YAML, keys in their order, which parses back to the same request.
func TestEditFormIsTheConfig(t *testing.T) {
	raw := map[string]string{"aws:region": "eu-west-1", "hookline:sources": `[{"name":"orders","signature":{"scheme":"standard-webhooks"},"groupBy":"header:X-Customer"},{"name":"refunds","signature":{"scheme":"github"}}]`}
	f, err := formOf("pay", "web", raw)
	if err != nil {
		t.Fatal(err)
	}
	want := "- name: orders\n  signature:\n    scheme: standard-webhooks\n  groupBy: header:X-Customer\n- name: refunds\n  signature:\n    scheme: github\n"
	if f.Sources != want || f.Region != "eu-west-1" || f.Ingress != "rest" || !f.Edit {
		t.Errorf("the edit form: %+v\n%s", f, f.Sources)
	}
	req, ok := f.request()
	if !ok || len(req.Sources) != 2 || !strings.Contains(string(req.Sources[0]), `"groupBy":"header:X-Customer"`) {
		t.Errorf("the form back as a request: %v %v", ok, req)
	}
}

// TestTracingChoice: the form's X-Ray choice becomes hookline:tracing, comes
// back in the edit form, and a value the config refuses is a problem beside
// the field.
func TestTracingChoice(t *testing.T) {
	raw := map[string]string{"aws:region": "eu-west-1", "hookline:sources": `[{"name":"refunds","signature":{"scheme":"github"}}]`}
	f, err := formOf("pay", "web", raw)
	if err != nil {
		t.Fatal(err)
	}
	if f.Tracing != "active" {
		t.Errorf("a stack without the key shows tracing %q, want active (the default)", f.Tracing)
	}
	f.Tracing = "off"
	req, ok := f.request()
	if !ok {
		t.Fatalf("request: %v", f.Problems)
	}
	cfg, _, err := req.Config("pay")
	if err != nil || cfg["hookline:tracing"] != "off" {
		t.Fatalf("config %v (%v), want hookline:tracing off", cfg, err)
	}
	raw["hookline:tracing"] = "off"
	if back, _ := formOf("pay", "web", raw); back.Tracing != "off" {
		t.Errorf("edit form shows tracing %q, want off", back.Tracing)
	}
	f.Tracing = "sampled"
	req, _ = f.request()
	_, _, err = req.Config("pay")
	if !f.problems(err, req) || len(f.Problems["tracing"]) == 0 {
		t.Errorf("a bad tracing value: problems %v (%v)", f.Problems, err)
	}
}
