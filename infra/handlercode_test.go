package infra_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/stackconfig"
)

// TestSourcesWithoutIdempotencyGetTheLeanHandler: with LeanCode set, the
// function of a source without idempotency gets the handler built without
// DynamoDB, and a source with idempotency the full one (a lean bootstrap
// there would retry every record).
func TestSourcesWithoutIdempotencyGetTheLeanHandler(t *testing.T) {
	stub := func(s string) pulumi.Archive {
		return pulumi.NewAssetArchive(map[string]any{"bootstrap": pulumi.NewStringAsset(s)})
	}
	c := loadStack(t, "prod")
	spec := stackSpec(t, c)
	want := map[string]string{}
	on, off := 0, 0
	for _, s := range spec.Sources {
		if s.Consumer.Table != nil {
			want[s.Consumer.FunctionName], on = "stub-full-handler", on+1
		} else {
			want[s.Consumer.FunctionName], off = "stub-lean-handler", off+1
		}
	}
	if on == 0 || off == 0 {
		t.Fatalf("prod has %d sources with idempotency and %d without: the test needs both", on, off)
	}
	mocks := awsmodel.NewMocks(stackconfig.Namespace, "prod", c.Region)
	err := pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, err := infra.NewWebhook(ctx, infra.ComponentName, &infra.WebhookArgs{Spec: spec,
			Code: stub("stub-full-handler"), LeanCode: stub("stub-lean-handler"), AuthorizerCode: stub("stub-authorizer")})
		return err
	}, pulumi.WithMocks(stackconfig.Namespace, "prod", mocks))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, r := range mocks.Registered() {
		if r.Type != "aws:lambda/function:Function" {
			continue
		}
		name := fmt.Sprint(r.Inputs["name"].V)
		w, ok := want[name]
		if !ok {
			continue // the edge authorizer
		}
		seen++
		var code string
		if r.Inputs["code"].IsArchive() {
			for _, a := range r.Inputs["code"].ArchiveValue().Assets {
				code += fmt.Sprintf("%+v", a)
			}
		}
		if !strings.Contains(code, w) {
			t.Errorf("%s: code %s, want %s", name, code, w)
		}
	}
	if seen != len(want) {
		t.Errorf("saw %d consumer functions, want %d", seen, len(want))
	}
}
