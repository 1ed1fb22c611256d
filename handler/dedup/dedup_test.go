package dedup_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/hookline/hookline/handler/dedup"
)

// fakeDynamo answers DynamoDB's JSON protocol with hand-written responses
// and records the requests, so the real SDK client is exercised end to end.
type fakeDynamo struct {
	mu       sync.Mutex
	requests []map[string]any
	targets  []string
	respond  func(target string) (int, string)
}

func (f *fakeDynamo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	target := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.targets = append(f.targets, target)
	f.mu.Unlock()
	code, resp := f.respond(target)
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, resp)
}

func store(t *testing.T, f *fakeDynamo) *dedup.Store {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := dynamodb.New(dynamodb.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1,
	})
	return &dedup.Store{API: client, Table: "hookline-dev-payments-idempotency", TTL: 72 * time.Hour,
		Now: func() time.Time { return time.Unix(1700000000, 0) }}
}

const conditionFailed = `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"pk":{"S":"payments#evt_1"},"status":{"S":"%s"}}}`

func TestBegin(t *testing.T) {
	cases := []struct {
		name string
		code int
		resp string
		want dedup.State
		err  bool
	}{
		{"new event", 200, `{}`, dedup.New, false},
		{"already done", 400, strings.Replace(conditionFailed, "%s", "done", 1), dedup.Done, false},
		{"in progress", 400, strings.Replace(conditionFailed, "%s", "in_progress", 1), dedup.InProgress, false},
		{"throttled", 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}`, dedup.New, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeDynamo{respond: func(string) (int, string) { return tc.code, tc.resp }}
			s := store(t, f)
			got, err := s.Begin(context.Background(), dedup.Key("payments", "evt_1"), 30*time.Second)
			if (err != nil) != tc.err || got != tc.want {
				t.Fatalf("got %v, %v", got, err)
			}
			req := f.requests[0]
			if f.targets[0] != "PutItem" || req["TableName"] != "hookline-dev-payments-idempotency" {
				t.Errorf("request: %s %v", f.targets[0], req["TableName"])
			}
			item := req["Item"].(map[string]any)
			if item["pk"].(map[string]any)["S"] != "payments#evt_1" || item["status"].(map[string]any)["S"] != "in_progress" {
				t.Errorf("item: %v", item)
			}
			if item["expiresAt"].(map[string]any)["N"] != "1700259200" || item["leaseUntil"].(map[string]any)["N"] != "1700000030000" {
				t.Errorf("ttl/lease: %v", item)
			}
			cond := req["ConditionExpression"].(string)
			for _, want := range []string{"attribute_not_exists(#pk)", "#exp < :nowSec", "#lease < :nowMs"} {
				if !strings.Contains(cond, want) {
					t.Errorf("condition %q lacks %q", cond, want)
				}
			}
			if req["ReturnValuesOnConditionCheckFailure"] != "ALL_OLD" {
				t.Error("the old item is not returned on a failed condition")
			}
		})
	}
}

func TestCompleteAndRelease(t *testing.T) {
	f := &fakeDynamo{respond: func(target string) (int, string) {
		if target == "DeleteItem" {
			return 400, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"done already"}`
		}
		return 200, `{}`
	}}
	s := store(t, f)
	if err := s.Complete(context.Background(), "payments#evt_1"); err != nil {
		t.Fatal(err)
	}
	upd := f.requests[0]
	if f.targets[0] != "UpdateItem" || !strings.Contains(upd["UpdateExpression"].(string), "SET #status = :done") {
		t.Errorf("complete: %v", upd)
	}
	// Releasing a marker that is no longer in progress is not an error.
	if err := s.Release(context.Background(), "payments#evt_1"); err != nil {
		t.Fatal(err)
	}
	if f.targets[1] != "DeleteItem" || f.requests[1]["ConditionExpression"] != "#status = :busy" {
		t.Errorf("release: %v", f.requests[1])
	}
}
