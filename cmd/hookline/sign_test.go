package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/consumer"
	"github.com/hookline/hookline/handler/signature"
	"github.com/hookline/hookline/handler/telemetry"
	"github.com/hookline/hookline/stackconfig"
)

// schemesStack has a source for every signature scheme (the generic one in
// both encodings), open at the edge where the scheme signs the body.
const schemesStack = `config:
  aws:region: eu-west-1
  hookline:environment: dev
  hookline:sources:
    - name: standard
      auth: {type: signature}
      signature: {scheme: standard-webhooks}
    - name: github
      auth: {type: signature}
      signature: {scheme: github}
    - name: stripe
      auth: {type: signature}
      signature: {scheme: stripe}
    - name: slack
      auth: {type: signature}
      signature: {scheme: slack}
    - name: shopify
      auth: {type: signature}
      signature: {scheme: shopify}
    - name: hmac-hex
      auth: {type: signature}
      signature: {scheme: hmac-sha256, header: X-Signature, encoding: hex}
    - name: hmac-base64
      auth: {type: signature}
      signature: {scheme: hmac-sha256, header: X-Signature, encoding: base64}
    - name: open
      signature: {scheme: none}
`

// schemesProject writes a project whose dev stack is schemesStack.
func schemesProject(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, doc := range map[string]string{"Pulumi.yaml": "name: hookline\nruntime: go\n", "Pulumi.dev.yaml": schemesStack} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// webhookBody carries the event ids the schemes' senders put in the body
// (Stripe's $.id, Slack's $.event_id).
const webhookBody = `{"id":"evt_1","event_id":"Ev1","type":"ping"}`

// processed records the event ids the consumer processed.
type processed struct {
	mu  sync.Mutex
	ids []string
}

func (p *processed) Process(_ context.Context, m contract.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ids = append(p.ids, m.MessageID)
	return nil
}

type staticSecrets []string

func (s staticSecrets) Get(context.Context, string) ([]string, error) { return s, nil }

type noDLQ struct{}

func (noDLQ) SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	return &sqs.SendMessageOutput{}, nil
}

// consumed is what the source's consumer made of one request.
type consumed struct {
	accepted bool   // verified and processed
	outcome  string // the record's outcome line
	reason   string
}

// consume hands req to the source's consumer (consumer.Handler with the real
// verifier of the source's scheme) as API Gateway and SQS would, with the
// source's active secrets.
func consume(t *testing.T, cfg *stackconfig.Config, src *stackconfig.Source, req contract.Request, secrets ...string) consumed {
	t.Helper()
	hc := cfg.HandlerConfig(*src)
	hc.DLQURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/" + cfg.DLQName(*src)
	v, err := signature.New(hc.Scheme, signature.Options{Tolerance: hc.Tolerance, Header: hc.SignatureHeader, Encoding: hc.SignatureEncoding})
	if err != nil {
		t.Fatalf("the %s verifier: %v", hc.Scheme, err)
	}
	var logs bytes.Buffer
	p := &processed{}
	h := &consumer.Handler{Config: hc, Verifier: v, Secrets: staticSecrets(secrets), Processor: p, DLQ: noDLQ{},
		Log: telemetry.NewLogger(&logs, slog.LevelDebug), Now: time.Now, Reserve: time.Second}
	resp, err := h.Handle(context.Background(), events.SQSEvent{Records: []events.SQSMessage{src.Spec().Simulate(req, "m-1")}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.BatchItemFailures) > 0 {
		t.Fatalf("the consumer retries the record (a configuration problem, not a verdict on the signature):\n%s", logs.String())
	}
	var c consumed
	for _, line := range jsonLines(logs.String()) {
		if _, ok := line["outcome"]; ok {
			c.outcome, _ = line["outcome"].(string)
			c.reason, _ = line["reason"].(string)
		}
	}
	c.accepted = len(p.ids) == 1 && c.outcome == "ok"
	return c
}

// TestEverySchemeSignsAsTheConsumerVerifies: for every scheme in the
// contract's table, the request hookline send and hookline invoke make
// (webhookRequest) is accepted by the source's consumer, and the same
// request signed with another secret is refused.
func TestEverySchemeSignsAsTheConsumerVerifies(t *testing.T) {
	_, cfg, err := loadStack(schemesProject(t), "dev")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[contract.Scheme]bool{}
	for i := range cfg.Sources {
		src := &cfg.Sources[i]
		covered[src.Signature.Scheme] = true
		t.Run(src.Name, func(t *testing.T) {
			secret, err := freshSecret(src.Signature)
			if err != nil {
				t.Fatal(err)
			}
			other, _ := freshSecret(src.Signature)
			// The request send posts and invoke hands to the handler.
			signedWith := func(secret string) contract.Request {
				now := time.Now()
				req, err := webhookRequest(src, nil, secret, []byte(webhookBody), now, func() string { return "evt_" + randHex(8) })
				if err != nil {
					t.Fatal(err)
				}
				req.RequestID, req.SourceIP, req.ReceivedAt = "r-1", "192.0.2.1", now
				return req
			}
			// Every header the REST request validator requires is sent.
			for _, h := range src.Spec().RequiredHeaders() {
				if signedWith(secret).Select(contract.Selector{Kind: contract.KindHeader, Name: h}) == "" {
					t.Errorf("the request lacks %s, which the REST request validator requires", h)
				}
			}
			if c := consume(t, cfg, src, signedWith(secret), secret); !c.accepted {
				t.Errorf("signed with the source's secret: outcome %s (%s), want ok", c.outcome, c.reason)
			}
			if src.Signature.Scheme == contract.SchemeNone {
				return // nothing is signed, so no secret can be wrong
			}
			if c := consume(t, cfg, src, signedWith(other), secret); c.accepted || c.reason != "signature-mismatch" {
				t.Errorf("signed with another secret: outcome %s (%s), want refused as signature-mismatch", c.outcome, c.reason)
			}
		})
	}
	for _, s := range contract.Schemes {
		if !covered[s] {
			t.Errorf("scheme %s has no source in schemesStack: add one", s)
		}
	}
}

// TestSendSignsSlackAndShopify: hookline send signs a webhook to a Slack and
// to a Shopify source (it used to post them unsigned), and the source's
// consumer accepts what arrived.
func TestSendSignsSlackAndShopify(t *testing.T) {
	dir := schemesProject(t)
	_, cfg, err := loadStack(dir, "dev")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	var got contract.Request
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got = contract.Request{Headers: map[string]string{}, Body: body, RequestID: "r-1", SourceIP: "192.0.2.1", ReceivedAt: time.Now()}
		for k := range r.Header {
			got.Headers[k] = r.Header.Get(k)
		}
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "accepted", "messageId": "m-1", "requestId": "r-1"})
	}))
	defer srv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	_ = os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	body := filepath.Join(t.TempDir(), "body.json")
	_ = os.WriteFile(body, []byte(webhookBody), 0o644)

	for _, tc := range []struct{ source, header string }{
		{"slack", contract.HeaderSlackSignature},
		{"shopify", contract.HeaderShopifyHMAC},
	} {
		t.Run(tc.source, func(t *testing.T) {
			got = contract.Request{}
			code, out, errOut := runCLI("send", "--stack", "dev", "--source", tc.source, "--body", body, "--secret", secret,
				"--url", srv.URL+"/"+tc.source, "--ca-file", ca, "--dir", dir)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if got.Select(contract.Selector{Kind: contract.KindHeader, Name: tc.header}) == "" {
				t.Errorf("sent without %s: headers %v", tc.header, got.Headers)
			}
			var src *stackconfig.Source
			for i := range cfg.Sources {
				if cfg.Sources[i].Name == tc.source {
					src = &cfg.Sources[i]
				}
			}
			if c := consume(t, cfg, src, got, secret); !c.accepted {
				t.Errorf("the consumer refused what send sent: outcome %s (%s)", c.outcome, c.reason)
			}
			if strings.TrimSpace(errOut) != "" {
				t.Errorf("stderr: %s", errOut)
			}
		})
	}
}

// TestWebhookRequestSendsTheDeliveryID: a GitHub source whose eventId is
// read from the body still gets X-GitHub-Delivery on the request send
// posts, as GitHub always sends it: the REST request validator requires it.
func TestWebhookRequestSendsTheDeliveryID(t *testing.T) {
	_, cfg, err := loadStack(schemesProject(t), "dev")
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.Sources {
		src := cfg.Sources[i]
		if src.Signature.Scheme != contract.SchemeGitHub {
			continue
		}
		src.EventID = contract.Selector{Kind: contract.KindBody, Name: "$.id"}
		secret, _ := freshSecret(src.Signature)
		req, err := webhookRequest(&src, nil, secret, []byte(webhookBody), time.Now(), func() string { return "evt_" + randHex(8) })
		if err != nil {
			t.Fatal(err)
		}
		if req.Select(contract.Selector{Kind: contract.KindHeader, Name: contract.HeaderGitHubDelivery}) == "" {
			t.Errorf("no %s on the request: the REST request validator refuses it", contract.HeaderGitHubDelivery)
		}
		return
	}
	t.Fatal("the schemes project has no github source")
}
