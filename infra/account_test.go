package infra_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/contract"
	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/stackconfig"
)

// TestCheckAccessLogs: a stack with access logs that does not manage the
// region's API Gateway account looks the CloudWatch role up and stops, with
// both ways out, when there is none or the setting cannot be read.
func TestCheckAccessLogs(t *testing.T) {
	off, rest := false, contract.IngressREST
	cases := []struct {
		name    string
		cfg     stackconfig.Config
		role    string
		err     error
		asked   bool
		wantErr []string
	}{
		{"role set", stackconfig.Config{Stack: "dev", Region: "eu-west-1", Ingress: rest}, "arn:aws:iam::1:role/cw", nil, true, nil},
		{"no role", stackconfig.Config{Stack: "dev", Region: "eu-west-1", Ingress: rest}, "", nil, true,
			[]string{"eu-west-1", "CloudWatch Logs role ARN must be set in account settings to enable logging", "hookline:manageApiGatewayAccount: true", "hookline:accessLogs: false in Pulumi.dev.yaml"}},
		{"unreadable", stackconfig.Config{Stack: "dev", Region: "eu-west-1", Ingress: rest}, "", errors.New("AccessDeniedException"), true,
			[]string{"AccessDeniedException", "apigateway:GET on arn:aws:apigateway:eu-west-1::/account", "hookline:accessLogs: false"}},
		{"managed here", stackconfig.Config{Stack: "prod", Region: "eu-west-1", Ingress: rest, ManageAPIGatewayAccount: true}, "", nil, false, nil},
		{"access logs off", stackconfig.Config{Stack: "dev", Region: "eu-west-1", Ingress: rest, AccessLogs: &off}, "", nil, false, nil},
		{"http api", stackconfig.Config{Stack: "dev", Region: "eu-west-1", Ingress: contract.IngressHTTP}, "", nil, false, nil},
		{"unknown ingress", stackconfig.Config{Stack: "dev", Region: "eu-west-1", Ingress: "grpc"}, "", nil, false,
			[]string{"hookline:ingress in Pulumi.dev.yaml", `"grpc" is not an ingress (want http or rest)`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			asked := false
			err := infra.CheckAccessLogs(context.Background(), &tc.cfg, func(_ context.Context, region string) (string, error) {
				asked = true
				if region != tc.cfg.Region {
					t.Errorf("looked up %q", region)
				}
				return tc.role, tc.err
			})
			if asked != tc.asked {
				t.Errorf("looked up = %v, want %v", asked, tc.asked)
			}
			if (err != nil) != (tc.wantErr != nil) {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
		})
	}
}

// TestNoCloudWatchRoleRegistersNothing: in an account without the role the
// program stops before the first resource (so preview says it, not a
// half-finished update).
func TestNoCloudWatchRoleRegistersNothing(t *testing.T) {
	raw, _, err := stackconfig.ReadStackFile("..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	none := func(context.Context, string) (string, error) { return "", nil }
	run := func(ingress string) (*awsmodel.Mocks, error) {
		raw["hookline:ingress"] = ingress
		mocks := awsmodel.NewMocks("hookline", "dev", "eu-west-1")
		return mocks, pulumi.RunErr(infra.Program(infra.ProgramOptions{Handler: harness.StubHandler, APIGatewayAccount: none}),
			pulumi.WithMocks("hookline", "dev", mocks), func(info *pulumi.RunInfo) { info.Config = raw })
	}
	mocks, err := run("rest")
	if err == nil || !strings.Contains(err.Error(), "hookline:accessLogs: false") {
		t.Fatalf("got %v", err)
	}
	if n := len(mocks.Registered()); n != 0 {
		t.Errorf("%d resources were registered", n)
	}
	// An HTTP API's access logs do not need the role: nothing to refuse.
	if mocks, err := run("http"); err != nil || len(mocks.Registered()) == 0 {
		t.Errorf("http stack without the role: %v, %d resources", err, len(mocks.Registered()))
	}
}

// TestAccessLogsOff: hookline:accessLogs: false deploys the stage without
// access logs and without their log group; nothing is looked up.
func TestAccessLogsOff(t *testing.T) {
	raw, _, err := stackconfig.ReadStackFile("..", "dev")
	if err != nil {
		t.Fatal(err)
	}
	for ingress, stage := range map[string]string{"rest": "aws:apigateway/stage:Stage", "http": "aws:apigatewayv2/stage:Stage"} {
		raw["hookline:ingress"] = ingress
		raw["hookline:accessLogs"] = "false"
		res, err := plan.Run(plan.Options{Dir: "..", Stack: "dev", Config: raw, Handler: harness.StubHandler})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range res.Find(stage) {
			if _, has := st.Inputs["accessLogSettings"]; has {
				t.Errorf("%s stage %s has access logs", ingress, st.Name)
			}
		}
		for _, lg := range res.Find("aws:cloudwatch/logGroup:LogGroup") {
			if strings.HasSuffix(lg.Inputs["name"].(string), "/access") {
				t.Errorf("%s: access log group %v created", ingress, lg.Inputs["name"])
			}
		}
		delete(raw, "hookline:accessLogs")
		on, err := plan.Run(plan.Options{Dir: "..", Stack: "dev", Config: raw, Handler: harness.StubHandler})
		if err != nil {
			t.Fatal(err)
		}
		if st := on.Find(stage); len(st) != 1 || st[0].Inputs["accessLogSettings"] == nil {
			t.Errorf("%s: by default the stage writes access logs: %v", ingress, st)
		}
	}
}
