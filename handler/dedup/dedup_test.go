//go:build !hookline.nodynamodb

package dedup_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/handler/dedup"
	"github.com/hookline/hookline/internal/testing/nodepeer"
)

const table = "hookline-dev-payments-idempotency"

// clock is a settable time for the stores of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// dynalite starts dynalite (a DynamoDB implementation that evaluates the
// condition expressions itself) with the table as the program creates it.
func dynalite(t *testing.T) *dynamodb.Client { return nodepeer.IdempotencyTable(t, table) }

func newStore(client *dynamodb.Client, c *clock) *dedup.Store {
	return &dedup.Store{API: client, Table: table, TTL: 72 * time.Hour, Now: c.now}
}

func item(t *testing.T, client *dynamodb.Client, key string) map[string]string {
	t.Helper()
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{contract.IdempotencyKey: &types.AttributeValueMemberS{Value: key}}})
	if err != nil {
		t.Fatal(err)
	}
	if out.Item == nil {
		return nil
	}
	m := map[string]string{}
	for k, v := range out.Item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			m[k] = v.Value
		case *types.AttributeValueMemberN:
			m[k] = v.Value
		}
	}
	return m
}

// TestMarkerLifecycle runs the lease, commit and release conditions as
// DynamoDB evaluates them: a live lease is in progress, a finished event is
// done until its TTL, a lapsed lease or an expired (not yet swept) marker
// counts as absent, and a release never removes a finished event.
func TestMarkerLifecycle(t *testing.T) {
	client := dynalite(t)
	start := time.Now().Truncate(time.Second)
	c := &clock{t: start}
	s := newStore(client, c)
	ctx := context.Background()
	key := dedup.Key("payments", "evt_1")
	begin := func(want dedup.State) {
		t.Helper()
		got, err := s.Begin(ctx, key, 30*time.Second)
		if err != nil || got != want {
			t.Fatalf("Begin = %v, %v; want %v", got, err, want)
		}
	}

	begin(dedup.New)
	lease, expires := fmt.Sprint(start.Add(30*time.Second).UnixMilli()), fmt.Sprint(start.Add(72*time.Hour).Unix())
	if it := item(t, client, key); it["status"] != "in_progress" || it["leaseUntil"] != lease || it[contract.IdempotencyExpires] != expires {
		t.Fatalf("marker: %v", it)
	}
	begin(dedup.InProgress) // the lease is live
	c.add(31 * time.Second)
	begin(dedup.New) // the lease lapsed: a crashed attempt does not block the event
	if err := s.Release(ctx, key); err != nil {
		t.Fatal(err)
	}
	if it := item(t, client, key); it != nil {
		t.Fatalf("released marker still there: %v", it)
	}
	begin(dedup.New)
	if err := s.Complete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if it := item(t, client, key); it["status"] != "done" || it["leaseUntil"] != "" {
		t.Fatalf("completed marker: %v", it)
	}
	begin(dedup.Done)
	c.add(time.Hour)
	begin(dedup.Done) // a lease's age means nothing to a finished event
	if err := s.Release(ctx, key); err != nil {
		t.Fatalf("releasing a finished event must be a no-op, not an error: %v", err)
	}
	begin(dedup.Done)
	c.add(72 * time.Hour)
	begin(dedup.New) // past the TTL: DynamoDB's sweep is lazy, the condition is not
}

// TestConcurrentDeliveries: deliveries of one event id racing from several
// function instances — exactly one takes the marker and processes; the
// others see it in progress while it runs and done after.
func TestConcurrentDeliveries(t *testing.T) {
	client := dynalite(t)
	c := &clock{t: time.Now()}
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		key := dedup.Key("payments", fmt.Sprintf("evt_race_%d", round))
		const n = 8
		var wg sync.WaitGroup
		states := make([]dedup.State, n)
		errs := make([]error, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				states[i], errs[i] = newStore(client, c).Begin(ctx, key, time.Minute)
			}(i)
		}
		close(start)
		wg.Wait()
		won := 0
		for i := range states {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			switch states[i] {
			case dedup.New:
				won++
			case dedup.InProgress:
			default:
				t.Errorf("delivery %d: %v while the winner is still processing", i, states[i])
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d deliveries took the marker, want exactly 1", round, won)
		}
		if err := newStore(client, c).Complete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if st, err := newStore(client, c).Begin(ctx, key, time.Minute); err != nil || st != dedup.Done {
			t.Fatalf("after the winner finished: %v %v", st, err)
		}
	}
}

// TestUnreachableTableIsAnError: a store that cannot reach DynamoDB says so
// (the handler then retries the record); it never reports New.
func TestUnreachableTableIsAnError(t *testing.T) {
	client := dynamodb.New(dynamodb.Options{Region: "eu-west-1", BaseEndpoint: aws.String("http://127.0.0.1:1"),
		Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1})
	s := newStore(client, &clock{t: time.Now()})
	if _, err := s.Begin(context.Background(), "payments#evt_1", time.Minute); err == nil {
		t.Fatal("Begin against an unreachable table returned no error")
	}
	if err := s.Complete(context.Background(), "payments#evt_1"); err == nil {
		t.Fatal("Complete against an unreachable table returned no error")
	}
}

func TestBodyKeyIsStable(t *testing.T) {
	a, b := dedup.BodyKey("github", []byte(`{"x":1}`)), dedup.BodyKey("github", []byte(`{"x":1}`))
	if a != b || a == dedup.BodyKey("github", []byte(`{"x":2}`)) || len(a) != len("github#sha256:")+64 {
		t.Errorf("body keys: %s %s", a, b)
	}
	if _, err := strconv.ParseUint(a[len(a)-8:], 16, 64); err != nil {
		t.Errorf("not hex: %s", a)
	}
}
