package redrive_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/ops/redrive"
)

// calls counts the fake's calls of one SQS action.
func calls(srv *awsfake.Server, action string) int {
	n := 0
	for _, c := range srv.Calls() {
		if c == "AmazonSQS."+action {
			n++
		}
	}
	return n
}

// counts reads the DLQ's visible and in-flight counts through the SDK.
func counts(t *testing.T, client *sqs.Client) (visible, inFlight int) {
	t.Helper()
	out, err := client.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.DLQURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessages"])
	inFlight, _ = strconv.Atoi(out.Attributes["ApproximateNumberOfMessagesNotVisible"])
	return visible, inFlight
}

// interleaved is n dead-lettered messages of groups g0..g(groups-1), in turn.
func interleaved(n, groups int) []awsfake.Message {
	var ms []awsfake.Message
	for i := 0; i < n; i++ {
		ms = append(ms, msg(fmt.Sprintf("g%d", i%groups), i))
	}
	return ms
}

// overlap is the SQS client a view runs with: after each of the view's
// receives it checks that nothing is in flight, and after the first it runs
// a whole selective redrive, as one started while the view runs would.
type overlap struct {
	*sqs.Client
	t        *testing.T
	receives int
	moved    *redrive.Result
}

func (o *overlap) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	out, err := o.Client.ReceiveMessage(ctx, in, optFns...)
	o.receives++
	if _, inFlight := counts(o.t, o.Client); inFlight != 0 {
		o.t.Errorf("receive %d of the view left %d messages in flight", o.receives, inFlight)
	}
	if o.receives == 1 {
		res, rerr := redrive.Run(ctx, o.Client, q, redrive.Options{Sealer: sealer, Max: 1000, Wait: time.Millisecond})
		if rerr != nil {
			o.t.Fatal(rerr)
		}
		o.moved = res
	}
	return out, err
}

// TestDryRunLooksAtNoMoreThanItShows: a dry run of a 1,000-message DLQ, as
// the portal's DLQ view makes it (10 shown), receives at most
// ceil(shown/10)+1 times, changes no visibility, hides nothing at any
// moment and raises the receive count of no more messages than it shows;
// a redrive that overlaps it moves all 1,000. It used to receive until the
// DLQ ran dry (101 receives when every message has a group of its own),
// hiding each message for 60 s and releasing it with a visibility change
// at the end, so a redrive in between moved nothing.
func TestDryRunLooksAtNoMoreThanItShows(t *testing.T) {
	for _, groups := range []int{1000, 7} {
		for _, max := range []int{0, 3, 10, 25} {
			t.Run(fmt.Sprintf("groups=%d/max=%d", groups, max), func(t *testing.T) {
				srv, client := setup(t, 1, interleaved(1000, groups)...)
				api := &overlap{Client: client, t: t}
				res, err := redrive.Run(context.Background(), api, q, redrive.Options{DryRun: true, Max: max, Wait: time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				shown := len(res.Listed)
				want := max
				if max == 0 {
					want = redrive.DefaultListMax
				}
				if shown == 0 || shown > want || (want <= 10 && shown != want) {
					t.Fatalf("listed %d, want %d (at most)", shown, want)
				}
				if got, limit := api.receives, (shown+9)/10+1; got > limit {
					t.Errorf("%d receives to show %d, want at most %d", got, shown, limit)
				}
				if n := calls(srv, "ChangeMessageVisibility"); n != 0 {
					t.Errorf("%d visibility changes", n)
				}
				if res.Moved != 0 || (want <= 10 && !res.More) { // above 10 the overlapping redrive emptied the DLQ: the view saw all of it
					t.Errorf("a dry run: moved %d, more %v", res.Moved, res.More)
				}
				if api.moved == nil || api.moved.Moved != 1000 || len(srv.Queue(q.DLQURL)) != 0 || len(srv.Queue(q.QueueURL)) != 1000 {
					t.Fatalf("a redrive overlapping the view: %+v; DLQ %d", api.moved, len(srv.Queue(q.DLQURL)))
				}
			})
		}
	}
}

// TestDryRunLeavesEveryMessageVisible: after a view nothing is in flight
// and only the shown messages were received.
func TestDryRunLeavesEveryMessageVisible(t *testing.T) {
	srv, client := setup(t, 1, interleaved(1000, 1000)...)
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{DryRun: true, Max: 10, Wait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if visible, inFlight := counts(t, client); visible != 1000 || inFlight != 0 {
		t.Errorf("after the view: %d visible, %d in flight", visible, inFlight)
	}
	received := 0
	for _, m := range srv.Queue(q.DLQURL) {
		if m.ReceiveCount > 0 {
			received++
		}
	}
	if received != len(res.Listed) {
		t.Errorf("the view received %d messages to show %d", received, len(res.Listed))
	}
}

// TestDryRunOfGroups lists only the asked groups' messages, and stops when a
// receive shows nothing new.
func TestDryRunOfGroups(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1), msg("b", 1), msg("a", 2), msg("c", 1))
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{DryRun: true, Groups: []string{"a", "c"}, Max: 100, Wait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range res.Listed {
		got = append(got, e.EventID)
	}
	if fmt.Sprint(got) != "[evt_a-1 evt_a-2 evt_c-1]" {
		t.Errorf("listed %v", got)
	}
	if n := calls(srv, "ReceiveMessage"); n > 2 {
		t.Errorf("%d receives", n)
	}
	if visible, _ := counts(t, client); visible != 4 {
		t.Errorf("%d visible after the dry run", visible)
	}
}

// TestRedriveOfGroupsScansOnce: a redrive of several groups reads the DLQ
// once, moving each group's messages in order, and leaves the others in
// the DLQ, visible. (The portal used to run one redrive per group, each
// scanning the whole DLQ.)
func TestRedriveOfGroupsScansOnce(t *testing.T) {
	srv, client := setup(t, 1, interleaved(300, 3)...)
	res, err := redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Groups: []string{"g0", "g1"}, Wait: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Moved != 200 {
		t.Fatalf("moved %d", res.Moved)
	}
	if got, limit := calls(srv, "ReceiveMessage"), 300/10+1; got > limit {
		t.Errorf("%d receives for one scan of 300 messages, want at most %d", got, limit)
	}
	last := map[string]int{"g0": -1, "g1": -1}
	for _, m := range srv.Queue(q.QueueURL) {
		prev, ok := last[m.GroupID]
		if !ok {
			t.Fatalf("moved a message of group %s", m.GroupID)
		}
		_, num, _ := strings.Cut(m.Attributes[contract.AttrEventID], "-")
		n, _ := strconv.Atoi(num)
		if n <= prev {
			t.Errorf("group %s out of order: %d after %d", m.GroupID, n, prev)
		}
		last[m.GroupID] = n
	}
	if visible, inFlight := counts(t, client); visible != 100 || inFlight != 0 {
		t.Errorf("left in the DLQ: %d visible, %d in flight", visible, inFlight)
	}
	// Group and Groups together: either.
	res, err = redrive.Run(context.Background(), client, q, redrive.Options{Sealer: sealer, Group: "g2", Groups: []string{"nope"}, Wait: time.Millisecond})
	if err != nil || res.Moved != 100 {
		t.Errorf("Group with Groups: %+v %v", res, err)
	}
}

// TestZeroVisibilityReachesSQS: the SDK leaves VisibilityTimeout 0 out of a
// ReceiveMessage request (SQS then uses the queue's default, 30 s), so a
// look that must hide nothing sends it with redrive.ZeroVisibility; the
// fake answers both as SQS documents, and refuses what SQS refuses.
func TestZeroVisibilityReachesSQS(t *testing.T) {
	srv, client := setup(t, 1, msg("a", 1))
	ctx := context.Background()
	in := func(vis int32) *sqs.ReceiveMessageInput {
		return &sqs.ReceiveMessageInput{QueueUrl: aws.String(q.DLQURL), MaxNumberOfMessages: 10, VisibilityTimeout: vis,
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}}
	}
	for i := 1; i <= 2; i++ {
		out, err := client.ReceiveMessage(ctx, in(0), redrive.ZeroVisibility)
		if err != nil || len(out.Messages) != 1 || out.Messages[0].Attributes["ApproximateReceiveCount"] != strconv.Itoa(i) {
			t.Fatalf("receive %d with visibility 0: %+v %v", i, out, err)
		}
	}
	if visible, inFlight := counts(t, client); visible != 1 || inFlight != 0 {
		t.Errorf("after receives with visibility 0: %d visible, %d in flight", visible, inFlight)
	}
	// Without it, the SDK sends no VisibilityTimeout: the queue's default hides it.
	if _, err := client.ReceiveMessage(ctx, in(0)); err != nil {
		t.Fatal(err)
	}
	if visible, inFlight := counts(t, client); visible != 0 || inFlight != 1 {
		t.Errorf("after a receive the SDK sent without VisibilityTimeout: %d visible, %d in flight", visible, inFlight)
	}
	srv.ExpireVisibility()
	var ae smithy.APIError
	if _, err := client.ReceiveMessage(ctx, in(43201)); !errors.As(err, &ae) || ae.ErrorCode() != "InvalidParameterValue" {
		t.Errorf("visibility 43,201 s: %v", err)
	}
}
