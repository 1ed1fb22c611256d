package portal_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/ops/archive"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/portal"
	"github.com/hookline/hookline/stackconfig"
)

const projectDir = ".."

var tokens = map[string]string{"pay": "tok-pay-123", "ops": "tok-ops-456", "web": "tok-web-012", "admin": "tok-admin-789"}

func newPortal(t *testing.T) *httptest.Server {
	t.Helper()
	return newPortalWith(t, "")
}

// newPortalWith starts a portal whose pack (and offline checks) read the
// policy config file policyConfig (empty: the rules' defaults).
func newPortalWith(t *testing.T, policyConfig string) *httptest.Server {
	t.Helper()
	hs, _, _ := newPortalIn(t, policyConfig, t.TempDir())
	return hs
}

// newPortalIn starts a portal whose engine keeps its state in state, and
// returns the engine options it uses.
func newPortalIn(t *testing.T, policyConfig, state string, adjust ...func(*portal.Options)) (*httptest.Server, engine.Options, *portal.Server) {
	t.Helper()
	plugins, pack := harness.RequireEngine(t)
	o := engine.Options{ProjectDir: projectDir, StateDir: state, Passphrase: "test-only", PolicyPack: pack, PolicyConfig: policyConfig,
		// An account whose API Gateway has its CloudWatch role, for the
		// program's look-up and the test-double provider alike.
		APIGatewayAccount: awsmodel.APIGatewayAccount,
		Env: map[string]string{"PATH": plugins + string(os.PathListSeparator) + os.Getenv("PATH"),
			"HOOKLINE_FAKE_AWS_APIGW_ROLE": awsmodel.APIGatewayCloudWatchRole}}
	// Lambda (the source cards' pause state) answers from a fake with no
	// mappings unless a test gives its own: never the machine's credential
	// chain.
	noMappings := awsfake.New(nil)
	t.Cleanup(noMappings.Close)
	opts := portal.Options{
		Tokens: &portal.Tokens{
			Teams:  map[string][]string{"pay": {portal.HashToken(tokens["pay"])}, "ops": {portal.HashToken(tokens["ops"])}},
			Admins: []string{portal.HashToken(tokens["admin"])},
		},
		Engine: o,
		Lambda: func(context.Context, string) (portal.LambdaAPI, error) {
			return lambda.New(lambda.Options{Region: "eu-west-1", BaseEndpoint: aws.String(noMappings.URL), Credentials: aws.AnonymousCredentials{}}), nil
		},
		// The archive panel reads S3: an endpoint that holds no bucket
		// unless a test gives its own, never the machine's credentials.
		Archive: func(context.Context, string) (archive.StoreAPI, error) {
			return s3.New(s3.Options{Region: "eu-west-1", BaseEndpoint: aws.String(noMappings.URL), UsePathStyle: true,
				Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}), nil
		},
	}
	for _, f := range adjust {
		f(&opts)
	}
	srv, err := portal.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs, o, srv
}

func call(t *testing.T, hs *httptest.Server, who, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, hs.URL+path, rd)
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+tokens[who])
	}
	return doJSON(t, req)
}

// doJSON sends req and decodes a JSON object answer (else {"_raw": body}).
func doJSON(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &out)
	}
	if out == nil {
		out = map[string]any{"_raw": string(raw)}
	}
	return resp.StatusCode, out
}

// bytesReader is a body for b (none when nil).
func bytesReader(b []byte) io.Reader {
	if b == nil {
		return nil
	}
	return bytes.NewReader(b)
}

func request(env string, extra map[string]any) map[string]any {
	orders := map[string]any{"name": "orders", "signature": map[string]any{"scheme": "standard-webhooks"}, "groupBy": "header:X-Customer"}
	for k, v := range extra {
		orders[k] = v
	}
	return map[string]any{"env": env, "region": "eu-west-1", "sources": []any{
		orders, map[string]any{"name": "refunds", "signature": map[string]any{"scheme": "github"}},
	}}
}

// fakeQueues is a portal's SQS (Options.SQS): the awsfake server at url.
func fakeQueues(url string, optFns ...func(*sqs.Options)) func(context.Context, string) (portal.SQSAPI, error) {
	return func(context.Context, string) (portal.SQSAPI, error) {
		return sqs.New(sqs.Options{Region: "eu-west-1", BaseEndpoint: aws.String(url), Credentials: aws.AnonymousCredentials{}}, optFns...), nil
	}
}

// previewAndApply previews, then applies, the stack at path
// ("/api/stacks/pay/dev") as team with body: each job is accepted and
// succeeds, or the test fails.
func previewAndApply(t *testing.T, hs *httptest.Server, team, path string, body any) {
	t.Helper()
	for _, op := range []string{"preview", "apply"} {
		code, job := call(t, hs, team, "POST", path+"/"+op, body)
		if code != http.StatusAccepted {
			t.Fatalf("%s: %d %v", op, code, job)
		}
		if j := wait(t, hs, team, job); j["status"] != "succeeded" {
			t.Fatalf("%s: %v", op, j)
		}
	}
}

// wait polls a job until it ends.
func wait(t *testing.T, hs *httptest.Server, who string, job map[string]any) map[string]any {
	t.Helper()
	id, _ := job["id"].(string)
	if id == "" {
		t.Fatalf("no job in %v", job)
	}
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		code, j := call(t, hs, who, "GET", "/api/jobs/"+id, nil)
		if code != 200 {
			t.Fatalf("job %s: %d %v", id, code, j)
		}
		if j["status"] != "running" {
			return j
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("job %s did not end", id)
	return nil
}

func TestLifecycle(t *testing.T) {
	hs := newPortal(t)
	base := "/api/stacks/pay/dev"

	code, v := call(t, hs, "pay", "POST", base+"/validate", request("dev", nil))
	if code != 200 || len(v["policies"].([]any)) != 0 || v["cost"].(map[string]any)["total"].(float64) <= 0 {
		t.Fatalf("validate: %d %v", code, v)
	}

	// Apply before any preview is refused.
	_, j := call(t, hs, "pay", "POST", base+"/apply", request("dev", nil))
	if j = wait(t, hs, "pay", j); j["status"] != "failed" || !strings.Contains(fmt.Sprint(j["error"]), "preview") {
		t.Fatalf("apply without preview: %v", j)
	}

	start := time.Now()
	code, j = call(t, hs, "pay", "POST", base+"/preview", request("dev", nil))
	if code != 202 {
		t.Fatalf("preview: %d %v", code, j)
	}
	if j = wait(t, hs, "pay", j); j["status"] != "succeeded" {
		t.Fatalf("preview job: %v", j)
	}
	t.Logf("preview of a two-source stack: %s", time.Since(start).Round(time.Millisecond))
	// The preview's changes, grouped by source.
	steps := map[string][]string{}
	for _, g := range j["plan"].([]any) {
		m := g.(map[string]any)
		for _, st := range m["steps"].([]any) {
			steps[m["source"].(string)] = append(steps[m["source"].(string)], fmt.Sprint(st.(map[string]any)["name"]))
		}
	}
	if !slices.Contains(steps["orders"], "hookline-orders-queue") || !slices.Contains(steps["refunds"], "hookline-refunds-queue") ||
		len(steps[""]) == 0 || slices.Contains(steps[""], "hookline-orders-queue") {
		t.Errorf("the preview's changes by source: %v", steps)
	}

	start = time.Now()
	_, j = call(t, hs, "pay", "POST", base+"/apply", request("dev", nil))
	j = wait(t, hs, "pay", j)
	t.Logf("apply to outputs of a two-source stack: %s", time.Since(start).Round(time.Millisecond))
	outs, _ := j["outputs"].(map[string]any)
	if j["status"] != "succeeded" || !strings.HasPrefix(fmt.Sprint(outs["endpoint"]), "https://") {
		t.Fatalf("apply job: %v", j)
	}
	if keys, _ := outs["apiKeys"].(map[string]any); len(keys) != 2 {
		t.Errorf("the owning team does not see its API keys: %v", outs["apiKeys"])
	}
	// The admin sees the job, but not the keys.
	_, aj := call(t, hs, "admin", "GET", "/api/jobs/"+j["id"].(string), nil)
	if ao, _ := aj["outputs"].(map[string]any); ao["apiKeys"] != nil {
		t.Error("API keys shown to someone else than the owning team")
	}

	created := progressOf(t, "apply", j)
	if created["create"] == 0 || created["create"] != created["total"] {
		t.Errorf("the apply of a new stack creates every resource it counts: %v", created)
	}

	code, st := call(t, hs, "pay", "GET", base, nil)
	if code != 200 || st["name"] != "pay-dev" || st["outputs"] == nil {
		t.Fatalf("show: %d %v", code, st)
	}
	// The stack remembers its last job and what the apply deployed.
	last, _ := st["lastJob"].(map[string]any)
	deployed, _ := st["deployed"].(map[string]any)
	if last["id"] != j["id"] || last["op"] != "apply" || last["status"] != "succeeded" ||
		deployed["sources"] != 2.0 || deployed["resources"] != float64(created["total"]) || deployed["monthlyUsd"].(float64) <= 0 {
		t.Errorf("the stack's last job %v and deployment %v", last, deployed)
	}

	// Update: a changed request needs its own preview first.
	changed := request("dev", map[string]any{"maxReceiveCount": 70})
	_, j = call(t, hs, "pay", "POST", base+"/apply", changed)
	if j = wait(t, hs, "pay", j); j["status"] != "failed" {
		t.Errorf("apply of an unpreviewed change: %v", j)
	}
	_, j = call(t, hs, "pay", "POST", base+"/preview", changed)
	wait(t, hs, "pay", j)
	_, j = call(t, hs, "pay", "POST", base+"/apply", changed)
	if j = wait(t, hs, "pay", j); j["status"] != "succeeded" || j["changes"].(map[string]any)["update"] == nil {
		t.Errorf("update: %v", j)
	}
	if updated := progressOf(t, "update", j); updated["update"] == 0 || updated["unchanged"] == 0 || updated["total"] != created["total"] {
		t.Errorf("the update touches what the stack has, most of it unchanged: %v (created %v)", updated, created)
	}

	if code, _ := call(t, hs, "pay", "POST", base+"/destroy", map[string]any{"confirm": "nope"}); code != 400 {
		t.Errorf("destroy without confirmation: %d", code)
	}
	_, j = call(t, hs, "pay", "POST", base+"/destroy", map[string]any{"confirm": "pay-dev"})
	if j = wait(t, hs, "pay", j); j["status"] != "succeeded" {
		t.Errorf("destroy: %v", j)
	}
	if deleted := progressOf(t, "destroy", j); deleted["delete"] != created["total"] || deleted["total"] != created["total"] {
		t.Errorf("the destroy deletes what the apply created: %v (created %v)", deleted, created)
	}
	if code, _ := call(t, hs, "pay", "GET", base, nil); code != 404 {
		t.Errorf("destroyed stack still listed: %d", code)
	}
}

// progressOf checks an ended job's progress — done is the total, 100 %,
// the counts by operation add up to it — and returns the total by label
// ("create", "unchanged", …) with the sum under "total".
func progressOf(t *testing.T, what string, j map[string]any) map[string]int {
	t.Helper()
	p, _ := j["progress"].(map[string]any)
	out := map[string]int{}
	sum := 0
	for _, o := range p["ops"].([]any) {
		m := o.(map[string]any)
		if m["done"] != m["total"] {
			t.Errorf("%s: %v done of %v %v", what, m["done"], m["total"], m["label"])
		}
		out[m["label"].(string)] = int(m["total"].(float64))
		sum += int(m["total"].(float64))
	}
	if p["unit"] != "resources" || p["done"] != p["total"] || p["percent"] != 100.0 || float64(sum) != p["total"] || p["estimated"] == true {
		t.Errorf("%s: progress %v (counts add up to %d)", what, p, sum)
	}
	out["total"] = sum
	return out
}

// TestPolicyBlocksRequest: a portal run with a stricter pack config (here
// maxReceiveCount 3-4, where the request keeps the default 65) shows the
// finding on validate and fails the preview naming the rule; a value outside
// the stack config's own bounds never gets that far (a 400 naming the field).
func TestPolicyBlocksRequest(t *testing.T) {
	if code, v := call(t, newPortal(t), "pay", "POST", "/api/stacks/pay/stg/validate", request("stg", map[string]any{"maxReceiveCount": 1001})); code != 400 || v["field"] != "sources[0].maxReceiveCount" {
		t.Errorf("maxReceiveCount 1001: %d %v", code, v)
	}
	strict := filepath.Join(t.TempDir(), "policy-config.json")
	if err := os.WriteFile(strict, []byte(`{"max-receive-count": {"maxReceiveCount": 4}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	hs := newPortalWith(t, strict)
	req := request("stg", nil)
	code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/stg/validate", req)
	if code != 200 || !strings.Contains(fmt.Sprint(v["policies"]), "max-receive-count") {
		t.Errorf("validate: %d %v", code, v)
	}
	_, j := call(t, hs, "pay", "POST", "/api/stacks/pay/stg/preview", req)
	j = wait(t, hs, "pay", j)
	if j["status"] != "failed" || !strings.Contains(fmt.Sprint(j["violations"]), "max-receive-count") {
		t.Errorf("preview: %v", j)
	}
}

func TestAccessAndInput(t *testing.T) {
	hs := newPortal(t)
	cases := []struct {
		name, who, method, path string
		body                    any
		code                    int
		field                   string
	}{
		{"no token", "", "GET", "/api/stacks", nil, 401, "auth"},
		{"another team's stack", "ops", "POST", "/api/stacks/pay/dev/validate", request("dev", nil), 404, ""},
		{"another team's stack (show)", "ops", "GET", "/api/stacks/pay/dev", nil, 404, ""},
		{"bad source name", "pay", "POST", "/api/stacks/pay/dev/validate", map[string]any{"env": "dev", "region": "eu-west-1",
			"sources": []any{map[string]any{"name": "Bad Name", "signature": map[string]any{"scheme": "none"}}}}, 400, "sources[0].name"},
		{"unknown field", "pay", "POST", "/api/stacks/pay/dev/validate", map[string]any{"env": "dev", "colour": "red"}, 400, "body"},
		{"env mismatch", "pay", "POST", "/api/stacks/pay/dev/validate", request("prd", nil), 400, "env"},
		{"missing region", "pay", "POST", "/api/stacks/pay/dev/validate", map[string]any{"env": "dev", "sources": []any{}}, 400, "region"},
		{"too large", "pay", "POST", "/api/stacks/pay/dev/validate", bytes.Repeat([]byte("x"), portal.MaxBody+1), 413, "body"},
		{"the account's parameter", "pay", "POST", "/api/stacks/pay/dev/validate",
			request("dev", map[string]any{"signature": map[string]any{"scheme": "standard-webhooks", "secretParameter": "/prod/database/master-password"}}), 400, "sources[0].signature.secretParameter"},
		{"another team's signing secret as forward secret", "pay", "POST", "/api/stacks/pay/dev/preview",
			request("dev", map[string]any{"processor": map[string]any{"type": "forward", "url": "https://example.com/hook", "secretParameter": "/hookline/ops-prod/orders/signing-secret"}}), 400, "sources[0].processor.secretParameter"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, v := call(t, hs, tc.who, tc.method, tc.path, tc.body)
			if code != tc.code || (tc.field != "" && v["field"] != tc.field) {
				t.Errorf("got %d %v, want %d field %q", code, v, tc.code, tc.field)
			}
		})
	}
}

// TestBusyStack: a second operation on a busy stack is a 409.
func TestBusyStack(t *testing.T) {
	hs := newPortal(t)
	code, j := call(t, hs, "ops", "POST", "/api/stacks/ops/dev/preview", request("dev", nil))
	if code != 202 {
		t.Fatalf("%d %v", code, j)
	}
	code2, v := call(t, hs, "ops", "POST", "/api/stacks/ops/dev/apply", request("dev", nil))
	if code2 != 409 {
		t.Errorf("second operation: %d %v", code2, v)
	}
	// The progress stream of the first ends with the job.
	req, _ := http.NewRequest("GET", hs.URL+"/api/jobs/"+j["id"].(string)+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tokens["ops"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	lines, done := 0, false
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "data: ") {
			lines++
		}
		if sc.Text() == "event: done" {
			done = true
		}
	}
	if !done || lines < 3 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Errorf("stream: done=%v lines=%d type=%s", done, lines, resp.Header.Get("Content-Type"))
	}
	if strings.Contains(fmt.Sprint(wait(t, hs, "ops", j)), "test-only") {
		t.Error("the passphrase reached the job output")
	}
}

// TestPathParametersStayInside: a team or environment in the path is held to
// the rules of a new stack's names, so an encoded "../" (the reproduced
// destroy of "..%2F..%2F..%2Fescaped") is a 400 and nothing is written
// outside the state directory.
func TestPathParametersStayInside(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(root, "a", "b", "state")
	srv, err := portal.New(portal.Options{
		Tokens: &portal.Tokens{Teams: map[string][]string{"pay": {portal.HashToken(tokens["pay"])}}},
		Engine: engine.Options{ProjectDir: projectDir, StateDir: state, Passphrase: "test-only"},
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	evil := "..%2F..%2F..%2Fescaped"
	cases := []struct {
		method, path string
		body         any
		field        string
	}{
		{"POST", "/api/stacks/pay/" + evil + "/destroy", map[string]string{"confirm": "pay-../../../escaped"}, "env"},
		{"GET", "/api/stacks/pay/" + evil, nil, "env"},
		{"POST", "/api/stacks/pay/" + evil + "/preview", request("dev", nil), "env"},
		{"POST", "/api/stacks/..%2Fpay/dev/destroy", map[string]string{"confirm": "../pay-dev"}, "team"},
	}
	for _, tc := range cases {
		if code, v := call(t, hs, "pay", tc.method, tc.path, tc.body); code != http.StatusBadRequest || v["field"] != tc.field {
			t.Errorf("%s %s: %d %v, want 400 naming %s", tc.method, tc.path, code, v, tc.field)
		}
	}
	err = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasPrefix(p, state+string(filepath.Separator)) {
			t.Errorf("written outside the state directory: %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "a", "escaped")); err == nil {
		t.Error("a workspace was created outside the state directory")
	}
}

// TestOwnershipIsTheTag: a stack belongs to the team its hookline:team tag
// names. A stack named pay-dev but tagged ops (made or retagged outside the
// portal) is listed to no team, and pay can neither preview nor destroy it.
func TestOwnershipIsTheTag(t *testing.T) {
	hs, o, _ := newPortalIn(t, "", t.TempDir())
	raw, _, err := stackconfig.ReadStackFile(projectDir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	o.Stack, o.Config = "pay-dev", raw
	st, err := engine.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetTag(context.Background(), "hookline:team", "ops"); err != nil {
		t.Fatal(err)
	}
	if _, list := callList(t, hs, "pay"); len(list) != 0 {
		t.Errorf("pay lists a stack tagged ops: %v", list)
	}
	if code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/preview", request("dev", nil)); code != http.StatusConflict {
		t.Errorf("pay previews a stack tagged ops: %d %v", code, v)
	}
	if code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/destroy", map[string]string{"confirm": "pay-dev"}); code != http.StatusConflict {
		t.Errorf("pay destroys a stack tagged ops: %d %v", code, v)
	}
	if _, list := callList(t, hs, "admin"); len(list) != 1 || list[0]["status"] != "owner-mismatch" {
		t.Errorf("admin's list: %v", list)
	}
}

// callList lists the stacks the caller sees.
func callList(t *testing.T, hs *httptest.Server, who string) (int, []map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", hs.URL+"/api/stacks", nil)
	req.Header.Set("Authorization", "Bearer "+tokens[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// TestSecretsNeverEchoed: a team sets a source's signing secret through the
// API and rotates it (the previous one kept beside the new); the stack holds
// it encrypted, a later preview keeps it, and no answer, job or listing ever
// shows it. A secret of a kind the source has not, another team's stack or
// an unknown source is refused.
func TestSecretsNeverEchoed(t *testing.T) {
	hs, o, _ := newPortalIn(t, "", t.TempDir())
	code, job := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/preview", request("dev", nil))
	if code != http.StatusAccepted {
		t.Fatalf("preview: %d %v", code, job)
	}
	if j := wait(t, hs, "pay", job); j["status"] != "succeeded" {
		t.Fatalf("preview: %v", j)
	}
	first := "whsec_" + base64.StdEncoding.EncodeToString([]byte("the first signing secret, 32 b!!"))
	second := "whsec_" + base64.StdEncoding.EncodeToString([]byte("the second signing secret, 32 b!"))
	put := func(who, path string, body any) (int, map[string]any, string) {
		t.Helper()
		code, v := call(t, hs, who, "PUT", path, body)
		b, _ := json.Marshal(v)
		return code, v, string(b)
	}
	code, v, text := put("pay", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "signing", "value": first})
	if code != http.StatusOK || v["parameter"] != "/hookline/pay-dev/orders/signing-secret" || strings.Contains(text, first) {
		t.Fatalf("set: %d %s", code, text)
	}
	code, v, text = put("pay", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "signing", "value": second, "keepPrevious": true})
	if code != http.StatusOK || v["previousKept"] != true || strings.Contains(text, second) || strings.Contains(text, first) {
		t.Fatalf("rotate: %d %s", code, text)
	}
	for _, tc := range []struct {
		who, path string
		body      any
		code      int
	}{
		{"pay", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "token", "value": "x"}, http.StatusBadRequest},
		{"pay", "/api/stacks/pay/dev/secrets/nosuch", map[string]any{"kind": "signing", "value": first}, http.StatusNotFound},
		// One secret per line: a value holding a line break cannot be stored.
		{"pay", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "signing", "value": "a long enough secret\nand another one"}, http.StatusBadRequest},
		{"ops", "/api/stacks/pay/dev/secrets/orders", map[string]any{"kind": "signing", "value": first}, http.StatusNotFound},
	} {
		if code, _, text := put(tc.who, tc.path, tc.body); code != tc.code || strings.Contains(text, first) {
			t.Errorf("%s %s %v: %d %s", tc.who, tc.path, tc.body, code, text)
		}
	}

	// A second preview of the same request keeps the secret.
	code, job = call(t, hs, "pay", "POST", "/api/stacks/pay/dev/preview", request("dev", nil))
	if code != http.StatusAccepted {
		t.Fatalf("second preview: %d %v", code, job)
	}
	j := wait(t, hs, "pay", job)
	if b, _ := json.Marshal(j); j["status"] != "succeeded" || strings.Contains(string(b), second) {
		t.Fatalf("second preview: %s", b)
	}
	o.Stack = "pay-dev"
	st, err := engine.Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	cfg, secret, err := st.Config(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(secret, "hookline:signingSecrets") || cfg["hookline:signingSecrets"] != `{"orders":"`+second+`\n`+first+`"}` {
		t.Errorf("the stack's signing secrets: %v %q", secret, cfg["hookline:signingSecrets"])
	}
	for _, path := range []string{"/api/stacks", "/api/stacks/pay/dev", "/api/jobs/" + job["id"].(string)} {
		_, v := call(t, hs, "pay", "GET", path, nil)
		if b, _ := json.Marshal(v); strings.Contains(string(b), second) || strings.Contains(string(b), first) {
			t.Errorf("%s shows a secret: %s", path, b)
		}
	}
}

// sseLines reads a job's whole event stream (it ends with the done event).
func sseLines(t *testing.T, hs *httptest.Server, who, id string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", hs.URL+"/api/jobs/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+tokens[who])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestHTTPIngress: a team creates an HTTP API environment through the API;
// what an HTTP API cannot honour is refused naming the field.
func TestHTTPIngress(t *testing.T) {
	hs := newPortal(t)
	base := "/api/stacks/pay/web"
	req := request("web", nil)
	req["ingress"] = "http"
	if code, v := call(t, hs, "pay", "POST", base+"/validate", req); code != 400 || v["field"] != "sources[0].auth.type" ||
		!strings.Contains(fmt.Sprint(v["error"]), "HTTP API has no API keys") {
		t.Fatalf("apiKey sources on http: %d %v", code, v)
	}
	for _, s := range req["sources"].([]any) {
		s.(map[string]any)["auth"] = map[string]any{"type": "signature"}
	}
	code, v := call(t, hs, "pay", "POST", base+"/validate", req)
	if code != 200 || len(v["policies"].([]any)) != 0 {
		t.Fatalf("validate: %d %v", code, v)
	}
	_, j := call(t, hs, "pay", "POST", base+"/preview", req)
	if j = wait(t, hs, "pay", j); j["status"] != "succeeded" {
		t.Fatalf("preview job: %v", j)
	}
	_, j = call(t, hs, "pay", "POST", base+"/apply", req)
	j = wait(t, hs, "pay", j)
	outs, _ := j["outputs"].(map[string]any)
	if j["status"] != "succeeded" || outs["ingress"] != "http" || !strings.HasPrefix(fmt.Sprint(outs["endpoint"]), "https://") {
		t.Fatalf("apply job: %v", j)
	}
	if _, has := outs["apiKeys"]; has {
		t.Errorf("an http stack shows API keys: %v", outs["apiKeys"])
	}
	_, j = call(t, hs, "pay", "POST", base+"/destroy", map[string]any{"confirm": "pay-web"})
	if j = wait(t, hs, "pay", j); j["status"] != "succeeded" {
		t.Errorf("destroy: %v", j)
	}
}
