package pause_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/hookline/hookline/internal/local/awsfake"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/ops/pause"
)

// TestPauseAndResume: through the real Lambda client, a pause disables the
// source's event source mapping (found by function and queue), a second
// pause changes nothing, a resume enables it; a source without a mapping
// is ErrNoMapping.
func TestPauseAndResume(t *testing.T) {
	fake := awsfake.New(nil)
	t.Cleanup(fake.Close)
	fake.AddMapping(awsfake.Mapping{UUID: "m-other", FunctionName: "hookline-dev-github", EventSourceArn: "arn:q-github", State: "Enabled"})
	fake.AddMapping(awsfake.Mapping{UUID: "m-pay", FunctionName: "hookline-dev-payments", EventSourceArn: "arn:q-payments", State: "Enabled"})
	api := lambda.New(lambda.Options{Region: "eu-west-1", BaseEndpoint: aws.String(fake.URL), Credentials: aws.AnonymousCredentials{},
		HTTPClient: harness.FreshConnections()})
	target := pause.Target{FunctionName: "hookline-dev-payments", QueueArn: "arn:q-payments"}
	ctx := context.Background()

	st, err := pause.Set(ctx, api, target, false)
	if err != nil || !st.Changed || st.UUID != "m-pay" || st.State != "Disabling" {
		t.Fatalf("pause: %+v %v", st, err)
	}
	if m := fake.Mappings(); m[1].State != "Disabled" || m[0].State != "Enabled" {
		t.Errorf("after the pause: %+v", m)
	}
	if st, err := pause.Get(ctx, api, target); err != nil || st.Changed || st.UUID != "m-pay" || !pause.Paused(st.State) {
		t.Errorf("the paused state: %+v %v", st, err)
	}
	if st, err := pause.Set(ctx, api, target, false); err != nil || st.Changed {
		t.Errorf("a second pause: %+v %v", st, err)
	}
	if st, err := pause.Set(ctx, api, target, true); err != nil || !st.Changed || fake.Mappings()[1].State != "Enabled" {
		t.Errorf("resume: %+v %v", st, err)
	}
	if _, err := pause.Set(ctx, api, pause.Target{FunctionName: "hookline-dev-nope", QueueArn: "arn:q-nope"}, false); !errors.Is(err, pause.ErrNoMapping) {
		t.Errorf("no mapping: %v", err)
	}
	if st, err := pause.Get(ctx, api, target); err != nil || pause.Paused(st.State) {
		t.Errorf("the resumed state: %+v %v", st, err)
	}
	if _, err := pause.Get(ctx, api, pause.Target{FunctionName: "hookline-dev-nope", QueueArn: "arn:q-nope"}); !errors.Is(err, pause.ErrNoMapping) {
		t.Errorf("no mapping to read: %v", err)
	}
}
