package portal_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/internal/testing/nodepeer"
	"github.com/hookline/hookline/ops/archive"
	"github.com/hookline/hookline/portal"
)

// TestArchiveSearchAndReplay: after an apply, a team searches a source's
// archive (a real S3 server, s3rver, holding what Firehose would have
// written) and sees the window's outcome counts and deliveries, never a
// body; another team cannot read it; a replay job re-sends the group it
// chose, in order, each copy sealed, and a second replay of the same
// selection sends nothing.
func TestArchiveSearchAndReplay(t *testing.T) {
	fake := awsfake.New(nil)
	t.Cleanup(fake.Close)
	store := nodepeer.S3Client(nodepeer.S3rver(t))
	hs, _, _ := newPortalIn(t, "", t.TempDir(), func(o *portal.Options) {
		o.Sealer = func(context.Context, string, string) (contract.Sealer, error) { return harness.NewSealer(), nil }
		o.SQS = fakeQueues(fake.URL, func(o *sqs.Options) { o.HTTPClient = harness.FreshConnections() })
		o.Archive = func(context.Context, string) (archive.StoreAPI, error) { return store, nil }
	})
	previewAndApply(t, hs, "pay", "/api/stacks/pay/dev", request("dev", nil))
	str := fillDLQ(t, hs, fake, "dev", `{}`, "processor")
	_, stack := call(t, hs, "pay", "GET", "/api/stacks/pay/dev", nil)
	outs, _ := stack["outputs"].(map[string]any)
	bucket, _ := outs["archiveBucket"].(string)
	if bucket == "" {
		t.Fatalf("the applied stack has no archiveBucket output: %v", outs)
	}
	if _, err := store.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}

	// What the consumer archived 20 to 10 minutes ago: groups a and b, a2
	// dead-lettered, and one line that is not an entry.
	now := time.Now().Truncate(time.Second)
	var lines bytes.Buffer
	for i, m := range []struct{ group, event string }{{"a", "a1"}, {"b", "b1"}, {"a", "a2"}, {"a", "a3"}} {
		r := contract.Record{MessageID: "m-" + m.event, GroupID: m.group, DeduplicationID: m.event, SequenceNumber: fmt.Sprintf("%020d", i+1),
			ReceiveCount: 1, SentAt: now.Add(-20*time.Minute + time.Duration(i)*time.Minute).UnixMilli(), Body: []byte(`{"secret":"never shown","id":"` + m.event + `"}`),
			Attrs: []contract.Attr{{Name: contract.AttrSource, Value: "orders"}, {Name: contract.AttrEventID, Value: m.event}}}
		lines.Write(contract.AppendDelivery(nil, "orders", &r, now))
		if m.event == "a2" {
			lines.Write(contract.AppendOutcome(nil, "orders", &r, contract.ArchiveDeadLettered, "bad-request", now))
		}
	}
	lines.WriteString("not an entry\n")
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(lines.Bytes())
	_ = w.Close()
	key := contract.ArchivePrefix("orders", now) + "hookline-dev-orders-archive-1.gz"
	if _, err := store.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(gz.Bytes())}); err != nil {
		t.Fatal(err)
	}

	window := "from=" + url.QueryEscape(now.Add(-30*time.Minute).Format(time.RFC3339)) + "&to=" + url.QueryEscape(now.Format(time.RFC3339))
	code, view := call(t, hs, "pay", "GET", "/api/stacks/pay/dev/sources/orders/archive?"+window, nil)
	if code != http.StatusOK {
		t.Fatalf("archive: %d %v", code, view)
	}
	counts, _ := view["counts"].(map[string]any)
	if view["total"] != 4.0 || counts["ok"] != 3.0 || counts["dead-lettered"] != 1.0 || view["skipped"] != 1.0 {
		t.Errorf("archive view: %v", view)
	}
	if rows, _ := view["deliveries"].([]any); len(rows) != 4 || rows[0].(map[string]any)["eventId"] != "a3" {
		t.Errorf("deliveries, newest first: %v", rows)
	}
	if strings.Contains(fmt.Sprint(view), "never shown") {
		t.Errorf("the view shows a body: %v", view)
	}
	if code, _ := call(t, hs, "ops", "GET", "/api/stacks/pay/dev/sources/orders/archive?"+window, nil); code != http.StatusNotFound {
		t.Errorf("another team's archive: %d", code)
	}
	if code, v := call(t, hs, "pay", "GET", "/api/stacks/pay/dev/sources/orders/archive?from=tomorrow", nil); code != http.StatusBadRequest {
		t.Errorf("a bad window: %d %v", code, v)
	}

	body := map[string]any{"from": now.Add(-30 * time.Minute).Format(time.RFC3339), "to": now.Format(time.RFC3339), "groups": []string{"a"}}
	code, job := call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/replay", body)
	if code != http.StatusAccepted {
		t.Fatalf("replay: %d %v", code, job)
	}
	j := wait(t, hs, "pay", job)
	if j["status"] != "succeeded" {
		t.Fatalf("replay: %v", j)
	}
	if p, _ := j["progress"].(map[string]any); p["done"] != 3.0 || p["total"] != 3.0 {
		t.Errorf("progress: %v", j["progress"])
	}
	q := fake.Queue(str("queueUrl"))
	var got []string
	for _, m := range q {
		got = append(got, m.Attributes[contract.AttrEventID])
		if _, sealed := m.Attributes[contract.AttrSeal]; !sealed || !strings.HasPrefix(m.DeduplicationID, "replay-") {
			t.Errorf("copy %s: seal %v, dedup id %s", m.ID, sealed, m.DeduplicationID)
		}
	}
	if strings.Join(got, " ") != "a1 a2 a3" {
		t.Errorf("replayed %v, want a1 a2 a3 in order", got)
	}
	code, job = call(t, hs, "pay", "POST", "/api/stacks/pay/dev/sources/orders/replay", body)
	if code != http.StatusAccepted || wait(t, hs, "pay", job)["status"] != "succeeded" || len(fake.Queue(str("queueUrl"))) != 3 {
		t.Errorf("the same replay again: %d, queue %d", code, len(fake.Queue(str("queueUrl"))))
	}
}
