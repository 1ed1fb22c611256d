package portal_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/portal"
)

// TestDLQViewAndRedrive: after an apply, a team sees a source's DLQ (depth
// and oldest messages with group, event id, age, receive count and failure
// reason — never a body), redrives one group and then the rest as jobs
// whose progress it can follow, and cannot start a second redrive of the
// source while one runs.
func TestDLQViewAndRedrive(t *testing.T) {
	fake := awsfake.New(nil)
	t.Cleanup(fake.Close)
	hs, _, srv := newPortalIn(t, "", t.TempDir(), func(o *portal.Options) {
		o.Sealer = func(context.Context, string, string) (contract.Sealer, error) { return harness.NewSealer(), nil }
		o.SQS = fakeQueues(fake.URL)
	})
	previewAndApply(t, hs, "pay", "/api/stacks/pay/dev", request("dev", nil))
	str := fillDLQ(t, hs, fake, "dev", `{"secret":"never shown"}`, "processor", "cus_1/evt_1", "cus_2/evt_2", "cus_1/evt_3")

	code, view := call(t, hs, "pay", "GET", "/api/stacks/pay/dev/sources/orders/dlq", nil)
	b, _ := json.Marshal(view)
	if code != http.StatusOK || view["depth"] != 3.0 || strings.Contains(string(b), "never shown") {
		t.Fatalf("DLQ view: %d %s", code, b)
	}
	oldest, _ := view["oldest"].([]any)
	if len(oldest) != 3 {
		t.Fatalf("oldest: %s", b)
	}
	first, _ := oldest[0].(map[string]any)
	if first["group"] != "cus_1" || first["eventId"] != "evt_1" || first["reason"] != "processor" || first["receiveCount"] != 1.0 || first["ageSeconds"].(float64) < 3000 {
		t.Errorf("oldest message: %v", first)
	}
	if code, _ := call(t, hs, "ops", "GET", "/api/stacks/pay/dev/sources/orders/dlq", nil); code != http.StatusNotFound {
		t.Errorf("another team's DLQ: %d", code)
	}

	release := srv.HoldRedrive("pay", "pay-dev", "orders")
	if code, v := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/redrive", map[string]any{}); code != http.StatusConflict {
		t.Errorf("a second redrive of the source: %d %v", code, v)
	}
	release()

	code, job := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/redrive", map[string]any{"groups": []string{"cus_1"}})
	if code != http.StatusAccepted {
		t.Fatalf("redrive cus_1: %d %v", code, job)
	}
	if j := wait(t, hs, "pay", job); j["status"] != "succeeded" {
		t.Fatalf("redrive cus_1: %v", j)
	}
	if q, d := fake.Queue(str("queueUrl")), fake.Queue(str("dlqUrl")); len(q) != 2 || len(d) != 1 ||
		q[0].Attributes[contract.AttrEventID] != "evt_1" || q[1].Attributes[contract.AttrEventID] != "evt_3" {
		t.Fatalf("after redriving cus_1: queue %v, DLQ %v", q, d)
	}
	fake.ExpireVisibility()
	code, job = call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/redrive", nil)
	if code != http.StatusAccepted {
		t.Fatalf("redrive all: %d %v", code, job)
	}
	if j := wait(t, hs, "pay", job); j["status"] != "succeeded" || len(fake.Queue(str("dlqUrl"))) != 0 || len(fake.Queue(str("queueUrl"))) != 3 {
		t.Fatalf("redrive all: %v; DLQ %d", j, len(fake.Queue(str("dlqUrl"))))
	}
	for _, m := range fake.Queue(str("queueUrl")) {
		if m.Attributes[contract.AttrSeal] == "" {
			t.Errorf("re-sent without a sealed receipt time: %v", m.Attributes)
		}
	}
	events := sseLines(t, hs, "pay", job["id"].(string))
	if !strings.Contains(events, "redrive the whole DLQ of orders") || !strings.Contains(events, "moved 1 message(s)") {
		t.Errorf("the redrive's progress stream: %s", events)
	}
}

// fillDLQ serves pay's deployed source orders of env from fake: its queue,
// and its DLQ holding one message of body per "group/event", rejected for
// reason. It returns the source's outputs.
func fillDLQ(t *testing.T, hs *httptest.Server, fake *awsfake.Server, env, body, reason string, messages ...string) func(string) string {
	t.Helper()
	_, stack := call(t, hs, "pay", "GET", "/api/stacks/pay/"+env, nil)
	outs, _ := stack["outputs"].(map[string]any)
	srcs, _ := outs["sources"].(map[string]any)
	orders, _ := srcs["orders"].(map[string]any)
	str := func(k string) string { v, _ := orders[k].(string); return v }
	var dead []awsfake.Message
	for _, m := range messages {
		group, event, _ := strings.Cut(m, "/")
		dead = append(dead, awsfake.Message{Body: body, GroupID: group, DeduplicationID: "dlq-" + event,
			Attributes: map[string]string{contract.AttrSource: "orders", contract.AttrEventID: event, contract.AttrFailureReason: reason}})
	}
	fake.AddQueue(str("queueUrl"), str("queueArn"))
	fake.AddQueue(str("dlqUrl"), str("dlqArn"), dead...)
	return str
}
