package contract_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/testing/nodepeer"
)

// vtlJob is one template rendered by testdata/velocity/render.mjs: a real
// Velocity engine (velocityjs) with API Gateway's $input, $util and $context.
type vtlJob struct {
	Template string         `json:"template"`
	Body     string         `json:"body"`
	Headers  [][2]string    `json:"headers"`
	Context  map[string]any `json:"context"`
}

type vtlResult struct {
	Out    string `json:"out"`
	Status *int   `json:"status"`
	Error  string `json:"error"`
}

func renderVTL(t *testing.T, jobs []vtlJob) []vtlResult {
	t.Helper()
	dir := filepath.Join("testdata", "velocity")
	node := nodepeer.Node(t, dir)
	in, err := json.Marshal(jobs)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "render.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node render.mjs: %v\n%s", err, stderr.String())
	}
	var res []vtlResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(jobs) {
		t.Fatalf("render.mjs answered %d results (%v) for %d jobs", len(res), err, len(jobs))
	}
	return res
}

// sendMessage reads a rendered request template as SQS reads the form body
// of a query-protocol SendMessage call, and refuses it as the SendMessage
// API reference says SQS would: the body's characters, the group and
// deduplication ids' alphabet and length, attributes numbered from 1 with a
// name, the String type and a non-empty value, at most 10, and the size.
type sentMessage struct {
	Body, Group, Dedup string
	Attrs              map[string]string
}

func sendMessage(form string) (sentMessage, error) {
	if strings.ContainsAny(form, "\r\n") {
		return sentMessage{}, fmt.Errorf("a newline leaked into the form body")
	}
	v, err := url.ParseQuery(form)
	if err != nil {
		return sentMessage{}, fmt.Errorf("form body does not decode: %v", err)
	}
	for k, vals := range v {
		if len(vals) != 1 {
			return sentMessage{}, fmt.Errorf("parameter %s given %d times", k, len(vals))
		}
	}
	if v.Get("Action") != "SendMessage" {
		return sentMessage{}, fmt.Errorf("Action=%q", v.Get("Action"))
	}
	m := sentMessage{Body: v.Get("MessageBody"), Group: v.Get("MessageGroupId"), Dedup: v.Get("MessageDeduplicationId"), Attrs: map[string]string{}}
	if err := contract.CheckBody(m.Body); err != nil {
		return m, err
	}
	if !contract.ValidID(m.Group) {
		return m, fmt.Errorf("InvalidParameterValue: MessageGroupId %q", m.Group)
	}
	if _, has := v["MessageDeduplicationId"]; has && !contract.ValidID(m.Dedup) {
		return m, fmt.Errorf("InvalidParameterValue: MessageDeduplicationId %q", m.Dedup)
	}
	for n := 1; ; n++ {
		p := "MessageAttribute." + strconv.Itoa(n) + "."
		name, has := v[p+"Name"]
		if !has {
			break
		}
		if v.Get(p+"Value.DataType") != "String" || v.Get(p+"Value.StringValue") == "" {
			return m, fmt.Errorf("attribute %d (%s) is not a non-empty String", n, name[0])
		}
		if _, dup := m.Attrs[name[0]]; dup {
			return m, fmt.Errorf("attribute %s given twice", name[0])
		}
		m.Attrs[name[0]] = v.Get(p + "Value.StringValue")
	}
	attrParams := 0
	for k := range v {
		if strings.HasPrefix(k, "MessageAttribute.") {
			attrParams++
		}
	}
	if attrParams != 3*len(m.Attrs) {
		return m, fmt.Errorf("attribute parameters are not numbered 1..n: %d parameters for %d attributes", attrParams, len(m.Attrs))
	}
	if len(m.Attrs) > contract.MaxMessageAttributes {
		return m, fmt.Errorf("%d attributes", len(m.Attrs))
	}
	if n := contract.MessageSize(m.Body, m.Attrs); n > contract.MaxMessageBytes {
		return m, fmt.Errorf("InvalidParameterValue: Message must be shorter than %d bytes (%d)", contract.MaxMessageBytes, n)
	}
	return m, nil
}

// templateCase is one request through a source's request template.
type templateCase struct {
	name, spec string
	headers    [][2]string
	body       string
	group      string // the MessageGroupId the README promises; "" when API Gateway refuses the request
	dedup      string // the MessageDeduplicationId, "" for content-based
}

// TestRequestTemplatesInVelocity renders the real request templates in a
// Velocity engine over adversarial headers and bodies, decodes the result
// as SQS would and checks that SQS accepts every well-formed webhook, with
// the group and deduplication ids the README promises; contract.Simulate
// (used by hookline invoke and the handler's tests) must agree on each.
func TestRequestTemplatesInVelocity(t *testing.T) {
	long := strings.Repeat("x", 200)
	specs := map[string]contract.Spec{
		"source": {Source: "internal", GroupBy: mustSelector(t, "source"), ContentTypes: []string{"application/json"}},
		"header": {Source: "partners", GroupBy: mustSelector(t, "header:X-Partner-Account"),
			EventID: contract.SchemeStandardWebhooks.DefaultEventID(), SignatureHeaders: contract.SchemeStandardWebhooks.SignatureHeaders(""),
			ContentTypes: []string{"application/json"}},
		"body": {Source: "payments", GroupBy: mustSelector(t, "body:$.data.object.customer"),
			EventID: mustSelector(t, "body:$.id"), SignatureHeaders: contract.SchemeStripe.SignatureHeaders(""),
			ContentTypes: []string{"application/json"}},
	}
	stripe := func(customer, id string) string {
		return `{"id":` + id + `,"data":{"object":{"customer":` + customer + `}}}`
	}
	sw := func(account, id string) [][2]string {
		return [][2]string{{"Content-Type", "application/json"}, {"X-Partner-Account", account}, {"webhook-id", id},
			{"webhook-timestamp", "1700000000"}, {"webhook-signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}}
	}
	reqs := []templateCase{
		{"plain", "source", [][2]string{{"content-type", "application/json"}}, `{"a":1}`, "internal", ""},
		{"form characters in the body", "source", nil, `{"q":"a&b=c+d%20e;f"}`, "internal", ""},
		{"newlines and unicode in the body", "source", nil, "{\"t\":\"line1\\nline2\",\n\"u\":\"kündé ✓ 🚀\"}", "internal", ""},
		{"quotes, backslashes, dollars and hashes", "source", nil, `{"s":"it's \"q\" \\ $x #set($y = 1) ##"}`, "internal", ""},
		{"valid header group", "header", sw("acct-42", "msg_1"), `{}`, "acct-42", "msg_1"},
		{"lower-case header names", "header", [][2]string{{"x-partner-account", "acct-7"}, {"webhook-id", "msg_2"}}, `{}`, "acct-7", "msg_2"},
		{"punctuation is valid", "header", sw(`a!"#$%&'()*+,-./:;<=>?@[\]^_{|}~`, "msg_3"), `{}`, `a!"#$%&'()*+,-./:;<=>?@[\]^_{|}~`, "msg_3"},
		{"group with a space", "header", sw("acme corp", "msg_4"), `{}`, "acme+corp", "msg_4"},
		{"non-ASCII group", "header", sw("kündé", "msg_5"), `{}`, "k%C3%BCnd%C3%A9", "msg_5"},
		{"group over 128", "header", sw(long, "msg_6"), `{}`, long[:128], "msg_6"},
		{"group exactly 128", "header", sw(long[:128], "msg_7"), `{}`, long[:128], "msg_7"},
		{"missing group", "header", [][2]string{{"webhook-id", "msg_8"}}, `{}`, "partners", "msg_8"},
		{"event id with a space", "header", sw("acct-1", "msg 9"), `{}`, "acct-1", ""},
		{"event id over 128", "header", sw("acct-1", long), `{}`, "acct-1", ""},
		{"non-ASCII event id", "header", sw("acct-1", "msg_é"), `{}`, "acct-1", ""},
		{"body group", "body", nil, stripe(`"cus_1"`, `"evt_1"`), "cus_1", "evt_1"},
		{"body group is an object", "body", nil, stripe(`{"id":"cus_1","n":2}`, `"evt_2"`), "%7Bid%3Dcus_1%2C+n%3D2%7D", "evt_2"},
		{"body group is a number", "body", nil, stripe(`42`, `"evt_3"`), "42", "evt_3"},
		{"body group is null", "body", nil, stripe(`null`, `"evt_4"`), "payments", "evt_4"},
		{"body event id is an object", "body", nil, stripe(`"cus_1"`, `{"v":1}`), "cus_1", "{v=1}"},
		{"body event id is an object with a space", "body", nil, stripe(`"cus_1"`, `{"v":1,"w":2}`), "cus_1", ""},
		{"body event id is missing", "body", nil, `{"data":{"object":{"customer":"cus_2"}}}`, "cus_2", ""},
		{"body is not JSON", "body", nil, `id=evt_1&customer=cus_1`, "", ""}, // refused at the edge
	}
	at := time.UnixMilli(1700000000123)
	var jobs []vtlJob
	for _, r := range reqs {
		jobs = append(jobs, vtlJob{Template: specs[r.spec].RequestTemplate(), Body: r.body, Headers: r.headers,
			Context: map[string]any{"requestId": "req-" + r.name[:4], "requestTimeEpoch": at.UnixMilli(), "sourceIp": "198.51.100.7"}})
	}
	for i, res := range renderVTL(t, jobs) {
		r := reqs[i]
		t.Run(r.name, func(t *testing.T) {
			if r.group == "" { // API Gateway refuses it before SQS
				if !strings.Contains(res.Error, "Could not parse request body into json") {
					t.Fatalf("a body path over a non-JSON body: want API Gateway's 400, got %q %q", res.Error, res.Out)
				}
				return
			}
			if res.Error != "" {
				t.Fatalf("the template fails to render: %s", res.Error)
			}
			m, err := sendMessage(res.Out)
			if err != nil {
				t.Fatalf("SQS would refuse it: %v\n%s", err, res.Out)
			}
			if m.Body != r.body || m.Group != r.group || m.Dedup != r.dedup {
				t.Errorf("body %q group %q dedup %q; want %q %q %q", m.Body, m.Group, m.Dedup, r.body, r.group, r.dedup)
			}
			// Simulate must write what the engine writes.
			h := map[string]string{}
			for _, kv := range r.headers {
				h[kv[0]] = kv[1]
			}
			spec := specs[r.spec]
			sim := spec.Simulate(contract.Request{Headers: h, Body: []byte(r.body), RequestID: jobs[i].Context["requestId"].(string),
				SourceIP: "198.51.100.7", ReceivedAt: at}, "m")
			if sim.Attributes["MessageGroupId"] != m.Group {
				t.Errorf("Simulate's group %q, the engine's %q", sim.Attributes["MessageGroupId"], m.Group)
			}
			if m.Dedup != "" && sim.Attributes["MessageDeduplicationId"] != m.Dedup {
				t.Errorf("Simulate's dedup id %q, the engine's %q", sim.Attributes["MessageDeduplicationId"], m.Dedup)
			}
			simAttrs := map[string]string{}
			for k, a := range sim.MessageAttributes {
				simAttrs[k] = *a.StringValue
			}
			if fmt.Sprint(simAttrs) != fmt.Sprint(m.Attrs) {
				t.Errorf("attributes: Simulate %v, the engine %v", simAttrs, m.Attrs)
			}
			if id := headerEventID(spec, r); id != "" && m.Attrs[contract.AttrEventID] != id {
				t.Errorf("the sender's event id %q must travel in %s, got %q", id, contract.AttrEventID, m.Attrs[contract.AttrEventID])
			}
		})
	}
}

// headerEventID is the raw event id a request carries, for the cases where the
// event id is a header (what the sender sent, valid for SQS or not).
func headerEventID(spec contract.Spec, r templateCase) string {
	if spec.EventID.Kind != contract.KindHeader {
		return ""
	}
	for _, kv := range r.headers {
		if strings.EqualFold(kv[0], spec.EventID.Name) {
			return kv[1]
		}
	}
	return ""
}

// TestBodiesSQSCannotCarry: the request template sends any body; SQS refuses
// an empty one and one with characters outside XML's set, and the 400
// response then says so (TestResponsesInVelocity).
func TestBodiesSQSCannotCarry(t *testing.T) {
	spec := contract.Spec{Source: "internal", GroupBy: mustSelector(t, "source"), ContentTypes: []string{"application/json"}}
	bodies := []string{"", "{\"bell\":\"\a\"}", "{\"nul\":\"\x00\"}", "\uFFFE"}
	var jobs []vtlJob
	for _, b := range bodies {
		jobs = append(jobs, vtlJob{Template: spec.RequestTemplate(), Body: b, Context: map[string]any{"requestId": "r"}})
	}
	for i, res := range renderVTL(t, jobs) {
		if res.Error != "" {
			t.Fatalf("%q: %s", bodies[i], res.Error)
		}
		if _, err := sendMessage(res.Out); err == nil {
			t.Errorf("body %q: SQS would accept it; the contract says it cannot", bodies[i])
		}
	}
}

// TestResponsesInVelocity renders every response template over SQS answers
// (success, and errors whose messages hold quotes, backslashes, control and
// non-ASCII characters): every body is valid JSON with the request id, and
// the status is the one the README lists.
func TestResponsesInVelocity(t *testing.T) {
	responses := map[string]string{}
	for _, r := range contract.IntegrationResponses() {
		responses[r.StatusCode] = r.Template
	}
	sqsError := func(code, msg string) string {
		b, _ := json.Marshal(map[string]any{"Error": map[string]string{"Code": code, "Message": msg, "Type": "Sender"}, "RequestId": "sqs-1"})
		return string(b)
	}
	cases := []struct {
		name, template, body string
		status               int // 0: the integration response's own
		error                string
	}{
		{"accepted", "202", `{"SendMessageResponse":{"SendMessageResult":{"MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}}}`, 0, ""},
		{"too large", "400", sqsError("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes."), 413, contract.TooLargeError},
		{"throttled", "400", sqsError("ThrottlingException", "Rate exceeded"), 429, "queue is throttling; retry later"},
		{"invalid characters", "400", sqsError("InvalidMessageContents", "Invalid binary character '#x7' was found in the message body, the set of allowed characters is available at http://www.w3.org/TR/REC-xml/#charsets"), 0, contract.InvalidCharactersError},
		{"empty body", "400", sqsError("MissingParameter", "The request must contain the parameter MessageBody."), 0, contract.EmptyBodyError},
		{"quotes in the message", "400", sqsError("InvalidParameterValue", `Value 'a "b"' for parameter X is invalid.`), 0, `Value 'a "b"' for parameter X is invalid.`},
		{"backslashes and controls", "400", sqsError("InvalidParameterValue", "a\\'b\\\\ \t\r\n\u0001 é ✓ </script>"), 0, "a\\'b\\\\ \t\r\n\u0001 é ✓ </script>"},
		{"other status", "500", sqsError("AccessDenied", "it's denied"), 0, "the webhook could not be queued"},
	}
	var jobs []vtlJob
	for _, c := range cases {
		jobs = append(jobs, vtlJob{Template: responses[c.template], Body: c.body, Context: map[string]any{"requestId": "req-9"}})
	}
	// API Gateway's own messages (auth, validation, media type, size): its
	// fixed texts, which hold no quote or backslash.
	for typ, tpl := range contract.GatewayResponses() {
		for _, msg := range []string{"Unauthorized", "Missing required request parameters: [X-Hub-Signature-256]", "Unsupported Media Type"} {
			cases = append(cases, struct {
				name, template, body string
				status               int
				error                string
			}{"gateway " + typ + " " + msg, typ, "", 0, msg})
			jobs = append(jobs, vtlJob{Template: tpl, Context: map[string]any{"requestId": "req-9", "errorMessage": msg}})
		}
	}
	for i, res := range renderVTL(t, jobs) {
		c := cases[i]
		t.Run(c.name, func(t *testing.T) {
			if res.Error != "" {
				t.Fatalf("render: %s", res.Error)
			}
			var body struct{ Status, Error, RequestID, MessageID string }
			if err := json.Unmarshal([]byte(res.Out), &body); err != nil {
				t.Fatalf("not JSON (%v): %s", err, res.Out)
			}
			if body.RequestID != "req-9" || body.Error != c.error {
				t.Errorf("requestId %q error %q; want error %q", body.RequestID, body.Error, c.error)
			}
			got := 0
			if res.Status != nil {
				got = *res.Status
			}
			if got != c.status {
				t.Errorf("status override %d, want %d", got, c.status)
			}
		})
	}
	if !strings.Contains(contract.TooLargeError, strconv.Itoa(contract.MaxMessageBytes)) {
		t.Errorf("the 413 text does not state the limit %d: %s", contract.MaxMessageBytes, contract.TooLargeError)
	}
}

// TestSizeLimitCountsAttributes: SQS counts message attributes toward
// MaxMessageBytes. A request whose body plus attributes is exactly the limit
// is accepted; one byte more is refused with SQS's "must be shorter than"
// error, which the 400 response turns into a 413 (TestResponsesInVelocity).
func TestSizeLimitCountsAttributes(t *testing.T) {
	spec := contract.Spec{Source: "partners", GroupBy: mustSelector(t, "header:X-Partner-Account"),
		EventID: contract.SchemeStandardWebhooks.DefaultEventID(), SignatureHeaders: contract.SchemeStandardWebhooks.SignatureHeaders(""),
		ContentTypes: []string{"application/json"}}
	headers := [][2]string{{"Content-Type", "application/json"}, {"X-Partner-Account", "acct-1"}, {"webhook-id", "msg_1"},
		{"webhook-timestamp", "1700000000"}, {"webhook-signature", "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}}
	job := func(body string) vtlJob {
		return vtlJob{Template: spec.RequestTemplate(), Body: body, Headers: headers,
			Context: map[string]any{"requestId": "req-1", "requestTimeEpoch": 1700000000123, "sourceIp": "198.51.100.7"}}
	}
	probe := renderVTL(t, []vtlJob{job("x")})[0]
	m, err := sendMessage(probe.Out)
	if err != nil {
		t.Fatal(err)
	}
	attrs := contract.MessageSize("", m.Attrs)
	if attrs < 100 {
		t.Fatalf("attributes take %d bytes: the probe lost its attributes", attrs)
	}
	fits := strings.Repeat("x", contract.MaxMessageBytes-attrs)
	res := renderVTL(t, []vtlJob{job(fits), job(fits + "x")})
	if _, err := sendMessage(res[0].Out); err != nil {
		t.Errorf("body of %d bytes + %d bytes of attributes = the limit: %v", len(fits), attrs, err)
	}
	if _, err := sendMessage(res[1].Out); err == nil || !strings.Contains(err.Error(), "must be shorter than") {
		t.Errorf("one byte over the limit (body %d + attributes %d): %v", len(fits)+1, attrs, err)
	}
}
