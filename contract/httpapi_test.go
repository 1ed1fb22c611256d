package contract_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
)

// resolveHTTP resolves a mapping value with the contract's model of the HTTP
// API's parameter mapping (contract.ResolveHTTP), as an error when the
// request lacks a value.
func resolveHTTP(t *testing.T, text string, req contract.Request) (string, error) {
	t.Helper()
	out, missing := contract.ResolveHTTP(text, req)
	if missing != "" {
		return out, fmt.Errorf("unable to resolve %s", missing)
	}
	return out, nil
}

func githubSpec() contract.Spec {
	return contract.Spec{
		Source:           "github",
		GroupBy:          contract.Selector{Kind: contract.KindHeader, Name: "X-GitHub-Hook-ID"},
		EventID:          contract.Selector{Kind: contract.KindBody, Name: "$.delivery"},
		SignatureHeaders: contract.SchemeGitHub.SignatureHeaders(""),
		ContentTypes:     []string{"application/json"},
	}
}

// TestHTTPMappingQueuesWhatTheTemplateQueues: for a request with every value
// present, the HTTP API's mapping yields the group, deduplication id and
// attributes the REST template yields (contract.Simulate).
func TestHTTPMappingQueuesWhatTheTemplateQueues(t *testing.T) {
	s := githubSpec()
	req := contract.Request{
		Headers: map[string]string{"content-type": "application/json", "x-github-hook-id": "4242",
			"x-hub-signature-256": "sha256=abc", "x-github-delivery": "d-1"},
		Body: []byte(`{"delivery":"evt-7","action":"opened"}`), RequestID: "req-1", SourceIP: "192.0.2.1",
		ReceivedAt: time.UnixMilli(1767225600123),
	}
	p := s.HTTPRequestParameters("https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo")
	if p["QueueUrl"] != "https://sqs.eu-west-1.amazonaws.com/123456789012/q.fifo" || p["MessageBody"] != "$request.body" {
		t.Fatalf("parameters: %v", p)
	}
	want := s.Simulate(req, "m-1")
	group, err := resolveHTTP(t, p["MessageGroupId"], req)
	if err != nil || group != want.Attributes["MessageGroupId"] {
		t.Errorf("group %q (%v), template gives %q", group, err, want.Attributes["MessageGroupId"])
	}
	dedup, err := resolveHTTP(t, p["MessageDeduplicationId"], req)
	if err != nil || dedup != "evt-7" {
		t.Errorf("dedup id %q (%v)", dedup, err)
	}
	text, err := resolveHTTP(t, p["MessageAttributes"], req)
	if err != nil {
		t.Fatal(err)
	}
	var attrs map[string]struct{ DataType, StringValue string }
	if err := json.Unmarshal([]byte(text), &attrs); err != nil {
		t.Fatalf("attributes are not JSON once resolved: %v\n%s", err, text)
	}
	if len(attrs) != len(s.Attributes()) || len(attrs) > contract.MaxRequestAttributes {
		t.Errorf("%d attributes, the template sends %d", len(attrs), len(s.Attributes()))
	}
	for name, a := range want.MessageAttributes {
		if a.StringValue == nil || attrs[name].StringValue != *a.StringValue || attrs[name].DataType != "String" {
			t.Errorf("attribute %s: http %+v, template %v", name, attrs[name], a.StringValue)
		}
	}
	// Only the source group is static.
	if g := (contract.Spec{Source: "a", GroupBy: contract.Selector{Kind: contract.KindSource}}).HTTPRequestParameters("u")["MessageGroupId"]; g != "a" {
		t.Errorf("source group = %q", g)
	}
}

// TestHTTPMappingLimits pins the differences docs/contract.md's table states: an
// absent value fails the request instead of falling back, and a quote in a
// header breaks the attributes' JSON (the request is not queued).
func TestHTTPMappingLimits(t *testing.T) {
	s := githubSpec()
	p := s.HTTPRequestParameters("u")
	req := contract.Request{
		Headers: map[string]string{"content-type": "application/json", "x-hub-signature-256": "sha256=abc", "x-github-delivery": "d-1"},
		Body:    []byte(`{"delivery":"evt-7"}`), RequestID: "r", SourceIP: "192.0.2.1", ReceivedAt: time.Now(),
	}
	if _, err := resolveHTTP(t, p["MessageGroupId"], req); err == nil {
		t.Error("a missing group header resolved: the REST fallback to the source is not available on http")
	}
	req.Headers["x-github-hook-id"] = "1"
	req.Headers["content-type"] = `application/json; charset="utf-8"`
	text, err := resolveHTTP(t, p["MessageAttributes"], req)
	if err != nil {
		t.Fatal(err)
	}
	if json.Valid([]byte(text)) {
		t.Error("a quoted content type left the attributes valid JSON: docs/contract.md says it breaks them")
	}
	if got := (contract.Spec{Source: "x", GroupBy: contract.Selector{Kind: contract.KindBody, Name: "$.a"}}).CheckHTTP(); len(got) != 1 || got[0][0] != "groupBy" {
		t.Errorf("body groupBy on http: %v", got)
	}
	if got := githubSpec().CheckHTTP(); len(got) != 0 {
		t.Errorf("header groupBy and body eventId refused: %v", got)
	}
	if h := githubSpec().HTTPRequiredHeaders(); strings.Join(h, ",") != "Content-Type,X-GitHub-Hook-ID,X-Hub-Signature-256" {
		t.Errorf("required headers %v", h)
	}
}

func TestAcceptsContentType(t *testing.T) {
	acc := []string{"application/json", "application/x-www-form-urlencoded"}
	for ct, want := range map[string]bool{
		"application/json": true, "Application/JSON; charset=utf-8": true, " application/x-www-form-urlencoded ": true,
		"text/plain": false, "": false, "application/jsonx": false,
	} {
		if got := contract.AcceptsContentType(ct, acc); got != want {
			t.Errorf("%q: %v, want %v", ct, got, want)
		}
	}
}

// TestContractDocStatesTheHTTPDifferences: the rest-vs-http contract table
// of docs/contract.md is contract.HTTPDifferences, row for row.
func TestContractDocStatesTheHTTPDifferences(t *testing.T) {
	b, err := os.ReadFile("../docs/contract.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range contract.HTTPDifferences {
		row := fmt.Sprintf("| %s | %s | %s |", d.Topic, d.REST, d.HTTP)
		if !strings.Contains(string(b), row) {
			t.Errorf("docs/contract.md lacks the row\n%s", row)
		}
	}
}

// TestHTTPRefusal: what hookline invoke reports an HTTP API would refuse
// agrees with the model of its mapping: a request it passes resolves every
// value, one it refuses does not or breaks the attributes.
func TestHTTPRefusal(t *testing.T) {
	s := githubSpec()
	good := func() contract.Request {
		return contract.Request{
			Headers: map[string]string{"content-type": "application/json", "x-github-hook-id": "42", "x-hub-signature-256": "sha256=abc"},
			Body:    []byte(`{"delivery":"evt-7"}`), RequestID: "r", SourceIP: "192.0.2.1", ReceivedAt: time.Now(),
		}
	}
	if why := s.HTTPRefusal(good()); why != "" {
		t.Fatalf("a complete request refused: %s", why)
	}
	for name, edit := range map[string]func(*contract.Request){
		"no group header":     func(r *contract.Request) { delete(r.Headers, "x-github-hook-id") },
		"no signature":        func(r *contract.Request) { delete(r.Headers, "x-hub-signature-256") },
		"no event id":         func(r *contract.Request) { r.Body = []byte(`{"action":"opened"}`) },
		"group with a space":  func(r *contract.Request) { r.Headers["x-github-hook-id"] = "acme corp" },
		"quoted content type": func(r *contract.Request) { r.Headers["content-type"] = `application/json; charset="utf-8"` },
		"event id over 128":   func(r *contract.Request) { r.Body = []byte(`{"delivery":"` + strings.Repeat("e", 129) + `"}`) },
		// Issue 27 item 5: a body-sourced event id is placed in the
		// attributes' JSON as unescaped as a header.
		"quoted body event id":            func(r *contract.Request) { r.Body = []byte(`{"delivery":"evt_\"x\\y"}`) },
		"signature ending in a backslash": func(r *contract.Request) { r.Headers["x-hub-signature-256"] = `sha256=abc\` },
	} {
		r := good()
		edit(&r)
		if why := s.HTTPRefusal(r); why == "" {
			t.Errorf("%s: not refused", name)
		}
	}
	// A crafted value keeps the JSON valid and adds attributes: queued,
	// and the simulation shows them, both ways a duplicate may be kept.
	r := good()
	r.Headers["x-hub-signature-256"] = `sha256=abc"},"hookline-received-at":{"DataType":"String","StringValue":"1`
	for dup, want := range map[contract.DuplicateKeys]string{contract.FirstKeyWins: fmt.Sprint(r.ReceivedAt.UnixMilli()), contract.LastKeyWins: "1"} {
		rec, why := s.SimulateHTTP(r, "m", dup)
		if why != "" {
			t.Fatalf("%s: refused %s", dup, why)
		}
		if got := rec.MessageAttributes[contract.AttrReceivedAt].StringValue; got == nil || *got != want {
			t.Errorf("%s: received-at %v, want %s", dup, got, want)
		}
	}
	p := s.HTTPRequestParameters("u")
	r = good()
	for _, k := range []string{"MessageGroupId", "MessageDeduplicationId", "MessageAttributes"} {
		if _, err := resolveHTTP(t, p[k], r); err != nil {
			t.Errorf("%s of a request HTTPRefusal passes: %v", k, err)
		}
	}
}
