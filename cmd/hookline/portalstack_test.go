package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/engine"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/portal"
)

// TestCommandsFindPortalStacks: a stack made in the portal has no stack
// file; send and redrive find it by name in the portal's state (config for
// send, outputs for redrive).
func TestCommandsFindPortalStacks(t *testing.T) {
	plugins, _ := harness.RequireEngine(t)
	data := t.TempDir()
	req := &portal.Request{Env: "dev", Region: "eu-west-1", Sources: []json.RawMessage{
		json.RawMessage(`{"name":"orders","signature":{"scheme":"standard-webhooks"},"groupBy":"header:X-Customer"}`)}}
	raw, _, err := req.Config("pay")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	st, err := engine.Open(ctx, engine.Options{ProjectDir: "../..", Stack: "pay-dev", Config: raw, StateDir: filepath.Join(data, "state"),
		Passphrase: "portal-pass", APIGatewayAccount: awsmodel.APIGatewayAccount,
		Env: map[string]string{"PATH": plugins + string(os.PathListSeparator) + os.Getenv("PATH"), "HOOKLINE_FAKE_AWS_APIGW_ROLE": awsmodel.APIGatewayCloudWatchRole}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Up(ctx); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOOKLINE_PORTAL_DATA", data)
	t.Setenv("HOOKLINE_PORTAL_PASSPHRASE", "portal-pass")

	// send: the source's scheme and group header come from the portal stack's config.
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	verifyErr := errors.New("the receiver was not called")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v, _ := signature.New(contract.SchemeStandardWebhooks, signature.Options{})
		verifyErr = v.Verify(httpHeader(r.Header), body, []string{secret}, time.Now())
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"accepted","messageId":"m","requestId":"r"}`)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(`{"type":"order.paid"}`), 0o644)
	code, out, errOut := runCLI("send", "--stack", "pay-dev", "--source", "orders", "--body", body, "--secret", secret, "--url", srv.URL+"/orders",
		"--header", "X-Customer=c1", "--api-key", "k", "--ca-file", ca, "--dir", "../..")
	if code != 0 || verifyErr != nil {
		t.Fatalf("send to a portal stack: exit %d, verify %v\n%s%s", code, verifyErr, out, errOut)
	}

	// plan and cost read the portal stack's config by the same rule as
	// send (before, plan read stack files only).
	code, out, errOut = runCLI("plan", "--stack", "pay-dev", "--dir", "../..")
	if code != 0 || !strings.Contains(out, "orders") {
		t.Errorf("plan of a portal stack: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI("cost", "--stack", "pay-dev", "--dir", "../.."); code != 0 || !strings.Contains(out, "orders") {
		t.Errorf("cost of a portal stack: exit %d\n%s%s", code, out, errOut)
	}

	// redrive: the queues come from the portal stack's outputs.
	outs, err := st.Outputs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	orders := outs["sources"].Value.(map[string]any)["orders"].(map[string]any)
	fake := awsfake.New(nil)
	defer fake.Close()
	fake.AddQueue(orders["queueUrl"].(string), orders["queueArn"].(string))
	fake.AddQueue(orders["dlqUrl"].(string), orders["dlqArn"].(string), awsfake.Message{Body: "{}", GroupID: "c1", DeduplicationID: "d",
		Attributes: map[string]string{contract.AttrEventID: "evt_1", contract.AttrFailureReason: "processor"}})
	for _, kv := range fake.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	code, out, errOut = runCLI("redrive", "--stack", "pay-dev", "--source", "orders", "--peek", "--dir", "../..")
	if code != 0 || !strings.Contains(out, "1 message(s) would move") || !strings.Contains(out, "evt_1") {
		t.Fatalf("redrive of a portal stack: exit %d\n%s%s", code, out, errOut)
	}

	// A stack that exists nowhere says where it looked, and creates nothing.
	if code, _, errOut := runCLI("send", "--stack", "nope-dev", "--source", "orders", "--body", body, "--secret", secret, "--dir", "../.."); code != 2 || !strings.Contains(errOut, "no stack nope-dev in the portal's backend") ||
		!strings.Contains(errOut, "stacks with a Pulumi.<stack>.yaml: dev, prod; stacks in the portal: pay-dev") {
		t.Errorf("unknown stack: exit %d %q", code, errOut)
	}
	sums, err := engine.List(ctx, engine.Options{ProjectDir: "../..", StateDir: filepath.Join(data, "state"), Passphrase: "portal-pass"})
	if err != nil || len(sums) != 1 {
		t.Errorf("the portal's stacks after looking for nope-dev: %v %v", sums, err)
	}
}
