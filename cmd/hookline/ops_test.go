package main

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/seal"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/kmspeer"
)

type httpHeader http.Header

func (h httpHeader) Header(name string) string { return http.Header(h).Get(name) }

// TestSend: send signs with the source's scheme, and the receiver verifies
// it with the handler's own verifier.
func TestSend(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	status := http.StatusAccepted
	var verifyErr error
	var gotKey, gotType, gotAuth, gotToken string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/token" { // a Cognito user pool domain's token endpoint
			id, sec, _ := r.BasicAuth()
			_ = r.ParseForm()
			if id != "client-1" || sec != "s3cret" || r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("scope") != "webhooks/write" {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"error":"invalid_client"}`)
				return
			}
			_, _ = io.WriteString(w, `{"access_token":"cc-token","token_type":"Bearer","expires_in":3600}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		gotToken = r.URL.Query().Get("token")
		v, _ := signature.New(contract.SchemeStandardWebhooks, signature.Options{})
		verifyErr = v.Verify(httpHeader(r.Header), body, []string{secret}, time.Now())
		gotKey, gotType, gotAuth = r.Header.Get("x-api-key"), r.Header.Get("Content-Type"), r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "accepted", "messageId": "mid-1", "requestId": "rid-1"})
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(`{"type":"invoice.paid"}`), 0o644)

	args := []string{"send", "--stack", "prod", "--source", "partners", "--body", body, "--secret", secret,
		"--url", srv.URL + "/partners", "--header", "X-Partner-Account=acme", "--header", "authorization=Bearer tok-1",
		"--ca-file", ca, "--dir", "../.."}
	code, out, errOut := runCLI(args...)
	if code != 0 || verifyErr != nil {
		t.Fatalf("exit %d, verify %v\n%s%s", code, verifyErr, out, errOut)
	}
	for _, want := range []string{"202 Accepted", "request id: rid-1", "message id: mid-1"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if gotType != "application/json" || gotKey != "" || gotAuth != "Bearer tok-1" {
		t.Errorf("content type %q, api key %q, authorization %q", gotType, gotKey, gotAuth)
	}
	// A Cognito source without a token: a clear error before anything is sent.
	noToken := []string{"send", "--stack", "prod", "--source", "partners", "--body", body, "--secret", secret, "--url", srv.URL, "--dir", "../.."}
	if code, _, errOut := runCLI(noToken...); code != 2 || !strings.Contains(errOut, "--bearer") {
		t.Errorf("cognito without a token: exit %d, %q", code, errOut)
	}
	// The client-credentials flow against the user pool's domain.
	cc := []string{"send", "--stack", "prod", "--source", "partners", "--body", body, "--secret", secret,
		"--url", srv.URL + "/partners", "--header", "X-Partner-Account=acme", "--cognito-domain", srv.URL,
		"--client-id", "client-1", "--client-secret", "s3cret", "--ca-file", ca, "--dir", "../.."}
	if code, _, errOut := runCLI(cc...); code != 0 || gotAuth != "Bearer cc-token" {
		t.Errorf("client credentials: exit %d, authorization %q, %s", code, gotAuth, errOut)
	}
	// An IAM source is signed with SigV4 for execute-api.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	iamArgs := []string{"send", "--stack", "prod", "--source", "internal", "--body", body, "--secret", "k", "--url", srv.URL + "/internal", "--ca-file", ca, "--dir", "../.."}
	if code, _, errOut := runCLI(iamArgs...); code != 0 || !strings.HasPrefix(gotAuth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") ||
		!strings.Contains(gotAuth, "/us-east-1/execute-api/aws4_request") {
		t.Errorf("iam source: exit %d, authorization %q, %s", code, gotAuth, errOut)
	}

	for _, tc := range []struct {
		status int
		want   string
	}{{401, "not authenticated"}, {403, "forbidden"}, {413, "too large"}, {415, "not accepted"}} {
		status = tc.status
		code, _, errOut := runCLI(args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%d: exit %d, %q", tc.status, code, errOut)
		}
	}
	status = http.StatusAccepted

	// Without trusting the endpoint's certificate the handshake is refused.
	noCA := append([]string(nil), args[:len(args)-4]...)
	noCA = append(noCA, "--dir", "../..")
	if code, _, errOut := runCLI(noCA...); code != 2 || !strings.Contains(errOut, "TLS handshake") {
		t.Errorf("untrusted certificate: exit %d, %q", code, errOut)
	}
	// An apiKey source needs a key; with one it is sent.
	vendorArgs := []string{"send", "--stack", "prod", "--source", "vendors", "--body", body, "--secret", secret,
		"--url", srv.URL + "/vendors", "--header", "X-Vendor-Account=v1", "--ca-file", ca, "--dir", "../..", "--api-key", "k-123"}
	if code, _, errOut := runCLI(vendorArgs...); code != 0 || gotKey != "k-123" {
		t.Errorf("api key: exit %d key %q %s", code, gotKey, errOut)
	}
	// A token source (Stripe in dev) gets its token in the URL, no header.
	stripeArgs := []string{"send", "--stack", "dev", "--source", "payments", "--body", body, "--secret", "whsec_x",
		"--url", srv.URL + "/payments", "--ca-file", ca, "--dir", "../..", "--token", "tok_abc"}
	if code, _, errOut := runCLI(stripeArgs...); code != 0 || gotToken != "tok_abc" || gotKey != "" {
		t.Errorf("token: exit %d token %q key %q %s", code, gotToken, gotKey, errOut)
	}
	// No URL and no deployed stack: a clear error.
	if code, _, errOut := runCLI("send", "--stack", "dev", "--source", "github", "--body", body, "--secret", "s", "--dir", t.TempDir()); code != 2 || errOut == "" {
		t.Errorf("no outputs: exit %d %q", code, errOut)
	}
}

func TestRedriveCommand(t *testing.T) {
	srv := awsfake.New(nil)
	defer srv.Close()
	dlq, queue := "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments-dlq.fifo", "https://sqs.eu-west-1.amazonaws.com/123456789012/hookline-dev-payments.fifo"
	msg := func(g, id string) awsfake.Message {
		return awsfake.Message{Body: `{}`, GroupID: g, DeduplicationID: id, Attributes: map[string]string{
			contract.AttrEventID: id, contract.AttrFailureReason: "signature-mismatch"}}
	}
	srv.AddQueue(dlq, "arn:dlq", msg("cus_1", "evt_1"), msg("cus_2", "evt_2"), msg("cus_1", "evt_3"))
	srv.AddQueue(queue, "arn:queue")
	for _, kv := range srv.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_REGION", "eu-west-1")
	kmsPeer := kmspeer.Start(t)
	for _, kv := range kmsPeer.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	base := []string{"redrive", "--source", "payments", "--queue-url", queue, "--queue-arn", "arn:queue", "--dlq-url", dlq, "--dlq-arn", "arn:dlq",
		"--seal-key", kmsPeer.KeyArn}

	code, out, errOut := runCLI(append(base, "--peek")...)
	if code != 0 || !strings.Contains(out, "3 message(s) would move") || !strings.Contains(out, "signature-mismatch") || len(srv.Queue(dlq)) != 3 {
		t.Fatalf("dry run: exit %d\n%s%s", code, out, errOut)
	}
	srv.ExpireVisibility()
	code, out, errOut = runCLI(append(base, "--group", "cus_1")...)
	if code != 0 || !strings.Contains(out, "moved 2 message(s)") || len(srv.Queue(queue)) != 2 || len(srv.Queue(dlq)) != 1 {
		t.Fatalf("group: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(append(base, "--yes")...)
	if code != 0 || !strings.Contains(out, "moved 1 message(s)") || len(srv.Queue(dlq)) != 0 {
		t.Fatalf("whole queue: exit %d\n%s%s", code, out, errOut)
	}
	// Every re-send carries its receipt time, sealed by the stack's key in KMS.
	sealer := seal.KMS{API: kmsPeer.Client, KeyID: kmsPeer.KeyArn}
	for _, m := range srv.Queue(queue) {
		if _, err := contract.OpenSeal(context.Background(), sealer, "payments", []byte(m.Body), m.Attributes[contract.AttrSeal]); err != nil {
			t.Errorf("%s: seal %q: %v", m.Attributes[contract.AttrEventID], m.Attributes[contract.AttrSeal], err)
		}
	}
	if code, _, errOut := runCLI("redrive", "--source", "payments", "--dir", t.TempDir()); code != 2 || errOut == "" {
		t.Errorf("no outputs: exit %d %q", code, errOut)
	}
}

// TestSendHTTPIngress: behind an HTTP API the sender reads SQS's own answer
// (JSON or the query protocol's XML), and a failed mapping is explained.
func TestSendHTTPIngress(t *testing.T) {
	answer, status := "", http.StatusOK
	var gotSig string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotSig = r.Header.Get("X-Hub-Signature-256")
		w.Header().Set("x-amzn-RequestId", "rid-http")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(`{"action":"opened"}`), 0o644)
	args := []string{"send", "--stack", "dev", "--source", "github", "--body", body, "--secret", "gh-secret",
		"--url", srv.URL + "/github", "--header", "X-GitHub-Hook-ID=42", "--ca-file", ca, "--dir", "../.."}
	for name, a := range map[string]string{
		"json": `{"MD5OfMessageBody":"x","MessageId":"m-json","SequenceNumber":"1"}`,
		"xml":  `<SendMessageResponse><SendMessageResult><MessageId>m-xml</MessageId></SendMessageResult><ResponseMetadata><RequestId>rid-x</RequestId></ResponseMetadata></SendMessageResponse>`,
	} {
		answer = a
		code, out, errOut := runCLI(args...)
		if code != 0 || !strings.Contains(out, "message id: m-"+name) || !strings.HasPrefix(gotSig, "sha256=") {
			t.Errorf("%s answer: exit %d, signature %q\n%s%s", name, code, gotSig, out, errOut)
		}
	}
	answer, status = `{"message":"Internal Server Error"}`, http.StatusInternalServerError
	if code, _, errOut := runCLI(args...); code != 1 || !strings.Contains(errOut, "X-GitHub-Hook-ID") || !strings.Contains(errOut, "integrationErrorMessage") {
		t.Errorf("failed mapping: exit %d, %q", code, errOut)
	}
}
