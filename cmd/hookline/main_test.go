package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// common lists the AWS types every stack's plan shows; restTypes and
// httpTypes those of its ingress (prod is rest, dev http).
var common = []string{
	"aws:sqs/queue:Queue", "aws:sqs/queuePolicy:QueuePolicy", "aws:sqs/redriveAllowPolicy:RedriveAllowPolicy",
	"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
	"aws:lambda/function:Function", "aws:lambda/eventSourceMapping:EventSourceMapping",
	"aws:cloudwatch/logGroup:LogGroup", "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard",
	"aws:sns/topic:Topic", "aws:dynamodb/table:Table",
}

var restTypes = []string{
	"aws:apigateway/restApi:RestApi", "aws:apigateway/requestValidator:RequestValidator",
	"aws:apigateway/deployment:Deployment", "aws:apigateway/stage:Stage", "aws:apigateway/methodSettings:MethodSettings",
	"aws:apigateway/resource:Resource", "aws:apigateway/method:Method", "aws:apigateway/integration:Integration",
	"aws:apigateway/methodResponse:MethodResponse", "aws:apigateway/integrationResponse:IntegrationResponse",
	"aws:apigateway/usagePlan:UsagePlan", "aws:apigateway/apiKey:ApiKey", "aws:apigateway/usagePlanKey:UsagePlanKey",
	"aws:apigateway/response:Response",
	"aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation",
	"aws:apigateway/domainName:DomainName", "aws:apigateway/basePathMapping:BasePathMapping",
	"aws:route53/record:Record", "aws:apigateway/account:Account", "aws:apigateway/authorizer:Authorizer",
	"aws:sns/topicSubscription:TopicSubscription", "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
}

var httpTypes = []string{
	"aws:apigatewayv2/api:Api", "aws:apigatewayv2/integration:Integration", "aws:apigatewayv2/route:Route",
	"aws:apigatewayv2/authorizer:Authorizer", "aws:apigatewayv2/deployment:Deployment", "aws:apigatewayv2/stage:Stage",
	"aws:lambda/permission:Permission",
}

func TestPlanJSON(t *testing.T) {
	for _, stack := range []string{"dev", "prod"} {
		t.Run(stack, func(t *testing.T) {
			code, out, errOut := runCLI("plan", "--stack", stack, "--output", "json", "--dir", "../..")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var doc map[string]json.RawMessage
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			var keys []string
			for k := range doc {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			if strings.Join(keys, ",") != "cost,outputs,policies,project,resources,stack" {
				t.Errorf("top-level keys: %v", keys)
			}
			if string(doc["project"]) != `"hookline"` || string(doc["stack"]) != `"`+stack+`"` {
				t.Errorf("project/stack: %s %s", doc["project"], doc["stack"])
			}
			if string(doc["policies"]) != "[]" {
				t.Errorf("policies %s", doc["policies"])
			}
			var cost struct {
				Total   float64
				Sources []struct{ Source string }
			}
			if err := json.Unmarshal(doc["cost"], &cost); err != nil || cost.Total <= 0 || len(cost.Sources) == 0 {
				t.Errorf("cost %s (%v)", doc["cost"], err)
			}
			var resources []map[string]json.RawMessage
			if err := json.Unmarshal(doc["resources"], &resources); err != nil {
				t.Fatal(err)
			}
			types := map[string]bool{}
			for _, r := range resources {
				for _, k := range []string{"urn", "type", "name", "parent", "inputs"} {
					if _, ok := r[k]; !ok {
						t.Fatalf("resource lacks %q: %s", k, r["urn"])
					}
				}
				var typ string
				_ = json.Unmarshal(r["type"], &typ)
				types[typ] = true
			}
			want, other := append(append([]string(nil), common...), httpTypes...), restTypes
			if stack == "prod" {
				want, other = append(append([]string(nil), common...), restTypes...), httpTypes
			}
			for _, typ := range want {
				if !types[typ] {
					t.Errorf("no %s in the %s plan", typ, stack)
				}
			}
			for _, typ := range other {
				if types[typ] && typ != "aws:lambda/permission:Permission" {
					t.Errorf("%s in the %s plan, which is of the other ingress", typ, stack)
				}
			}
			if strings.Contains(out, `"value"`) && !strings.Contains(out, `[secret]`) {
				t.Error("API key values must not appear")
			}
			// The handler was really built: its archive is named by content.
			if !strings.Contains(out, `"bootstrap": "sha256:`) {
				t.Error("the function code is not the built handler")
			}
		})
	}
}

func TestPlanTable(t *testing.T) {
	code, out, errOut := runCLI("plan", "--stack", "prod", "--dir", "../..")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"TYPE", "securityPolicy=TLS_1_2", "fifoQueue=true", "Outputs:", "endpoint: https://hooks.example.com", "Policies: no violations"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q", want)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	bad := t.TempDir()
	if err := os.WriteFile(filepath.Join(bad, "Pulumi.dev.yaml"), []byte("config:\n  aws:region: eu-west-1\n  hookline:sources:\n    - name: Bad Name\n      signature: {scheme: none}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing stack file", []string{"plan", "--stack", "nope", "--dir", "../.."}, "Pulumi.nope.yaml"},
		{"invalid config", []string{"plan", "--stack", "dev", "--dir", bad}, "Pulumi.dev.yaml: invalid configuration: hookline:sources[0].name"},
		{"bad output", []string{"plan", "--output", "xml", "--dir", "../.."}, "--output must be table or json"},
		{"stray argument", []string{"plan", "extra", "--dir", "../.."}, "unexpected argument"},
		{"unknown command", []string{"deploy"}, "unknown command"},
		{"no command", nil, "usage"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(tc.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr %q lacks %q", errOut, tc.want)
			}
			if tc.args != nil && tc.args[0] == "plan" && strings.Count(strings.TrimSpace(errOut), "\n") > 0 && !strings.Contains(errOut, "Usage") {
				t.Errorf("error is not one line: %q", errOut)
			}
		})
	}
}

func TestInvoke(t *testing.T) {
	if _, err := os.Stat("../../bin/aws-lambda-rie"); err != nil {
		t.Skip("bin/aws-lambda-rie missing: run make tools (make test does)")
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	bad := filepath.Join(dir, "bad.json")
	_ = os.WriteFile(good, []byte(`{"id":"evt_1","data":{"object":{"customer":"cus_1"}}}`), 0o644)
	_ = os.WriteFile(bad, []byte(`{"id":"evt_2",`), 0o644)

	code, out, errOut := runCLI("invoke", "--stack", "dev", "--source", "payments", "--body", good, "--dir", "../..")
	if code != 0 || !strings.Contains(out, "outcome:  ok") || !strings.Contains(out, "group payments") || !strings.Contains(out, "init:") {
		t.Errorf("good body: exit %d\n%s%s", code, out, errOut)
	}
	// On http (dev) a body without the event id its mapping reads is refused
	// at the edge; the handler's refusal of a malformed body shows on rest.
	code, _, errOut = runCLI("invoke", "--stack", "dev", "--source", "payments", "--body", bad, "--dir", "../..")
	if code != 1 || !strings.Contains(errOut, "would not queue this request: the body has no $.id") {
		t.Errorf("malformed body on http: exit %d %s", code, errOut)
	}
	code, out, errOut = runCLI("invoke", "--stack", "prod", "--source", "vendors", "--body", bad, "--header", "X-Vendor-Account=acme", "--dir", "../..")
	if code != 1 || !strings.Contains(out, "outcome:  reject (malformed-body)") || !strings.Contains(out, "moved to the DLQ: malformed-body") {
		t.Errorf("malformed body: exit %d\n%s%s", code, out, errOut)
	}
	// dev is an http stack: a request its mapping cannot resolve is refused
	// as the HTTP API would refuse it, before anything runs.
	code, _, errOut = runCLI("invoke", "--stack", "dev", "--source", "github", "--body", good, "--dir", "../..")
	if code != 1 || !strings.Contains(errOut, "would not queue this request: header X-GitHub-Hook-ID is missing") {
		t.Errorf("github without its group header: exit %d %s", code, errOut)
	}
	// A header that rewrites the attributes' JSON: invoke shows what AWS
	// would queue, both ways it may keep a duplicate key, and the handler's
	// verdict on each (issue 34 item 1): the forged receipt time is dropped.
	inject := `d1"},"hookline-received-at":{"DataType":"String","StringValue":"1700000000000`
	code, out, errOut = runCLI("invoke", "--stack", "dev", "--source", "github", "--body", good, "--header", "X-GitHub-Hook-ID=42",
		"--header", "X-GitHub-Delivery="+inject, "--dir", "../..")
	if code != 1 || !strings.Contains(out, "writes attribute hookline-received-at twice") || !strings.Contains(out, "dropped (forged-receipt-time)") {
		t.Errorf("injected received-at: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI("invoke", "--stack", "dev", "--source", "github", "--body", good, "--header", "X-GitHub-Hook-ID=42",
		"--header", `X-GitHub-Delivery=d1"},"x-extra":{"DataType":"String","StringValue":"1`, "--dir", "../..")
	if code != 1 || !strings.Contains(out, "adds message attributes the edge does not write: x-extra") || !strings.Contains(out, "dropped (forged-attributes)") {
		t.Errorf("injected attribute: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI("invoke", "--stack", "dev", "--source", "nope", "--body", good, "--dir", "../..")
	if code != 2 || !strings.Contains(errOut, `no source "nope"`) {
		t.Errorf("unknown source: exit %d %s", code, errOut)
	}
}

// TestPlanPolicyConfig: with the pack's config file (the one pulumi preview
// --policy-pack-config takes), the plan judges by its bounds and levels: a
// mandatory finding exits 1 naming the rule, an advisory one is printed and
// exits 0, and a config the pack would refuse is an error. (Every rule's own
// fixture runs through the plan in internal/testing/fixtures.)
func TestPlanPolicyConfig(t *testing.T) {
	write := func(doc string) string {
		p := filepath.Join(t.TempDir(), "policy-config.json")
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// The dev sources redrive after 5 receives; this pack config allows 3-4.
	strict := write(`{"max-receive-count": {"maxReceiveCount": 4}}`)
	code, out, errOut := runCLI("plan", "--stack", "dev", "--policy-config", strict, "--output", "json", "--dir", "../..")
	if code != 1 || !strings.Contains(errOut, "violates mandatory policy max-receive-count") {
		t.Fatalf("exit %d, want 1 naming max-receive-count: %s", code, errOut)
	}
	var doc struct {
		Policies []struct{ Policy, Level, URN, Message string }
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, p := range doc.Policies {
		if p.Policy == "max-receive-count" && p.Level == "mandatory" && p.URN != "" && strings.Contains(p.Message, "between 3 and 4") {
			found++
		}
	}
	if found != 2 {
		t.Errorf("want both dev source queues flagged, got %v", doc.Policies)
	}

	advisory := write(`{"max-receive-count": {"enforcementLevel": "advisory", "maxReceiveCount": 4}}`)
	code, out, _ = runCLI("plan", "--stack", "dev", "--policy-config", advisory, "--dir", "../..")
	if code != 0 || !strings.Contains(out, "[advisory] max-receive-count") {
		t.Errorf("advisory: exit %d\n%s", code, out)
	}
	for name, bad := range map[string]string{
		"unknown policy":    `{"no-such-rule": "advisory"}`,
		"beyond the bounds": `{"max-receive-count": {"maxReceiveCount": 1001}}`,
		"unknown property":  `{"fifo-ordering": {"colour": "red"}}`,
	} {
		if code, _, errOut := runCLI("plan", "--stack", "dev", "--policy-config", write(bad), "--dir", "../.."); code != 2 || !strings.Contains(errOut, "policy config") {
			t.Errorf("%s: exit %d %s", name, code, errOut)
		}
	}
}

func TestCost(t *testing.T) {
	code, out, errOut := runCLI("cost", "--stack", "prod", "--rps", "20", "--body-kb", "2", "--groups", "50", "--capacity", "--dir", "../..")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"payments", "partners", "internal", "total: $", "bound by", "capacity"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI("cost", "--stack", "dev", "--output", "json", "--dir", "../..")
	var doc struct {
		Cost struct {
			Total   float64
			Traffic struct{ RPS float64 }
			Sources []struct{ Source, Dominant string }
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &doc) != nil || doc.Cost.Total <= 0 || len(doc.Cost.Sources) != 2 || doc.Cost.Traffic.RPS != 1 {
		t.Errorf("json: exit %d %s", code, out)
	}
	// The same sources priced on both ingresses: http's API line is $1.00
	// per million, rest's $3.50.
	_, httpOut, _ := runCLI("cost", "--stack", "dev", "--dir", "../..")
	_, restOut, _ := runCLI("cost", "--stack", "dev", "--ingress", "rest", "--dir", "../..")
	// Both count the pollers' empty receives ($0.32 a month a source).
	if !strings.Contains(httpOut, "ingress http") || !strings.Contains(httpOut, "PER MILLION") || !strings.Contains(httpOut, "$3.16") ||
		!strings.Contains(restOut, "ingress rest") || !strings.Contains(restOut, "$5.68") || !strings.Contains(httpOut, "$0.32") {
		t.Errorf("per-million figures (github: http $3.16, rest $5.68):\n%s\n%s", httpOut, restOut)
	}
	// The floor at 1, 10 and 100 webhooks/s, hand-computed in
	// ops.TestFloor, beside the estimate and the ratio.
	for _, want := range []string{"FLOOR/MONTH", "RATIO", "$7.41", "$46.29", "$428.87", "$2.86"} {
		if !strings.Contains(httpOut, want) {
			t.Errorf("floor table lacks %q:\n%s", want, httpOut)
		}
	}
	// Pricing a rest stack on http names what an HTTP API could not honour:
	// the config validation's own list.
	if code, _, errOut := runCLI("cost", "--stack", "prod", "--ingress", "http", "--dir", "../.."); code != 0 ||
		!strings.Contains(errOut, "source vendors: an HTTP API cannot honour its auth.type") || !strings.Contains(errOut, "source partners: an HTTP API cannot honour its auth.audiences") {
		t.Errorf("prod on http: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI("cost", "--ingress", "grpc", "--dir", "../.."); code != 2 || !strings.Contains(errOut, "rest or http") {
		t.Errorf("bad ingress: exit %d %s", code, errOut)
	}
	if code, _, errOut := runCLI("cost", "--body-kb", "257", "--dir", "../.."); code != 2 || !strings.Contains(errOut, "256 KiB") {
		t.Errorf("oversized body: exit %d %s", code, errOut)
	}
}

// TestCostWithinFivePercentOfTheFloor: for dev's GitHub source on its HTTP
// API, the estimate is within 5% of the floor at 1, 10 and 100 webhooks/s,
// in the JSON as in the table, and the logs are priced from measured bytes.
func TestCostWithinFivePercentOfTheFloor(t *testing.T) {
	code, out, errOut := runCLI("cost", "--stack", "dev", "--output", "json", "--dir", "../..")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var doc struct {
		Floors []struct {
			RPS     float64
			Sources []struct {
				Source, Ingress string
				Ratio           float64
				Estimate        float64
				Floor           struct{ Total float64 }
				LogBytes        struct{ Consumer, Access float64 }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	rates := 0
	for _, r := range doc.Floors {
		for _, s := range r.Sources {
			if s.Source != "github" {
				continue
			}
			rates++
			if s.Ingress != "http" || s.Ratio > 1.05 || s.Ratio < 1 || s.LogBytes.Consumer <= 0 || s.LogBytes.Access <= 0 {
				t.Errorf("github at %g/s: %+v, want an HTTP API within 1.05 of the floor, its logs priced", r.RPS, s)
			}
		}
	}
	if rates != 3 {
		t.Errorf("github priced at %d rates, want 1, 10 and 100 webhooks/s", rates)
	}
}
