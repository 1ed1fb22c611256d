package infra_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/hookline/hookline/infra"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan/awsmodel"
	"github.com/hookline/hookline/stackconfig"
)

// TestArgsAreValidatedFirst: each component checks its args before it
// registers anything, and names every problem in one error.
func TestArgsAreValidatedFirst(t *testing.T) {
	code, err := harness.StubHandler("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		build func(ctx *pulumi.Context) error
		want  []string
	}{
		{"source queues", func(ctx *pulumi.Context) error {
			_, err := infra.NewSourceQueues(ctx, "q", &infra.SourceQueuesArgs{Spec: infra.QueueSpec{QueueName: "q.fifo", RetentionSeconds: 15 * 24 * 3600}})
			return err
		}, []string{"source queues q:", "DLQName is required", "QueueARN is required", "DLQARN is required", "must be positive", "longer than its DLQ"}},
		{"consumer", func(ctx *pulumi.Context) error {
			_, err := infra.NewConsumer(ctx, "c", &infra.ConsumerArgs{Spec: infra.ConsumerSpec{FunctionName: "f", SecretARNs: []string{"arn"}}})
			return err
		}, []string{"consumer c:", "RoleName is required", "LogGroupARN is required", "must be positive", "SecretsPolicyName is required", "QueueArn and QueueURL are required", "DLQURL is required", "Code is required", `Spec.TracingMode "" is not a Lambda tracing mode (Active or PassThrough)`}},
		{"source", func(ctx *pulumi.Context) error {
			_, err := infra.NewSource(ctx, "s", &infra.SourceArgs{Spec: infra.SourceSpec{Auth: infra.AuthSpec{ThroughAuthorizer: true}}, Code: code})
			return err
		}, []string{"source s:", "Spec.Name is required", "Spec.SendRoleName is required", "Router is required", "needs the edge authorizer"}},
		{"rest api", func(ctx *pulumi.Context) error {
			_, err := infra.NewRestAPI(ctx, "api", &infra.IngressArgs{AccessLog: &infra.LogGroupSpec{}})
			return err
		}, []string{"rest api api:", "Name is required", "Region is required", "must be positive", "AccessLog needs a Name"}},
		{"http api", func(ctx *pulumi.Context) error {
			_, err := infra.NewHttpAPI(ctx, "api", &infra.IngressArgs{Name: "a", Region: "eu-west-1", CloudWatchRoleName: "r"})
			return err
		}, []string{"http api api:", "must be positive", "no account settings to manage"}},
		{"unknown ingress", func(ctx *pulumi.Context) error {
			_, err := infra.NewIngress(ctx, "api", &infra.IngressArgs{Kind: "grpc"})
			return err
		}, []string{"ingress api:", `"grpc" is not an ingress (want http or rest)`}},
		{"edge authorizer", func(ctx *pulumi.Context) error {
			_, err := infra.NewEdgeAuthorizer(ctx, "a", &infra.EdgeAuthorizerArgs{Sources: []infra.EdgeSource{{Source: "x", Check: "?"}}})
			return err
		}, []string{"edge authorizer a:", "Spec.FunctionName is required", "Host is required", "Code is required", `"?" is not an edge check`, "no token source", `Spec.TracingMode "" is not a Lambda tracing mode`}},
		{"domain", func(ctx *pulumi.Context) error {
			_, err := infra.NewDomain(ctx, "d", &infra.DomainArgs{Spec: infra.DomainSpec{Name: "hooks.example.com"}})
			return err
		}, []string{"domain d:", "Spec.HostedZoneID is required", "Mapper is required"}},
		{"monitoring", func(ctx *pulumi.Context) error {
			_, err := infra.NewMonitoring(ctx, "m", &infra.MonitoringArgs{Spec: infra.MonitoringSpec{Sources: []infra.WatchedSource{{Name: "x"}}}})
			return err
		}, []string{"monitoring m:", "Spec.TopicName is required", "API.Metric5xx is required", "OldestMessageAgeSeconds 0", `watched source "x"`}},
		{"api stage", func(ctx *pulumi.Context) error {
			_, err := infra.NewApiStage(ctx, "st", &infra.ApiStageArgs{Sources: []infra.StageSource{{Name: "x", UsagePlan: &infra.UsagePlanSpec{}}}})
			return err
		}, []string{"api stage st:", "RestAPI is required", "at least one route", "must be positive", "usage plan of x"}},
		{"http stage", func(ctx *pulumi.Context) error {
			_, err := infra.NewHttpStage(ctx, "st", &infra.HttpStageArgs{})
			return err
		}, []string{"http stage st:", "APIID is required", "at least one route", "must be positive"}},
		{"archive store", func(ctx *pulumi.Context) error {
			_, err := infra.NewArchiveStore(ctx, "a", &infra.ArchiveStoreArgs{Spec: infra.ArchiveSpec{Environment: "dev", Bucket: "b"}})
			return err
		}, []string{"archive store a:", "KeyAlias is required", "BucketARN is required", "Workgroup is required", "must be positive", "Sources"}},
		{"archive stream", func(ctx *pulumi.Context) error {
			_, err := infra.NewArchiveStream(ctx, "s", &infra.ArchiveStreamArgs{Spec: infra.ArchiveStreamSpec{Source: "x", StreamName: "n"}})
			return err
		}, []string{"archive stream s:", "RoleName is required", "ErrorPrefix is required", "buffering of 0 s and 0 MiB", "BucketArn and KeyArn are required"}},
		{"consumer without its archive stream", func(ctx *pulumi.Context) error {
			_, err := infra.NewConsumer(ctx, "c", &infra.ConsumerArgs{Spec: infra.ConsumerSpec{ArchiveStreamARN: "arn:aws:firehose:eu-west-1:1:deliverystream/s"}})
			return err
		}, []string{"consumer c:", "Spec.ArchiveStreamARN (the policy) and ArchiveStream (the environment) go together"}},
		{"webhook", func(ctx *pulumi.Context) error {
			_, err := infra.NewWebhook(ctx, "w", &infra.WebhookArgs{Spec: infra.StackSpec{Authorizer: &infra.AuthorizerSpec{}}})
			return err
		}, []string{"webhook w:", "Spec.Environment is required", "Code is required", "AuthorizerCode is required", "at least one source", `"" is not an ingress`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mocks := awsmodel.NewMocks(stackconfig.Namespace, "dev", "eu-west-1")
			err := pulumi.RunErr(tc.build, pulumi.WithMocks(stackconfig.Namespace, "dev", mocks))
			if err == nil {
				t.Fatal("invalid args accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if n := len(mocks.Registered()); n != 0 {
				t.Errorf("%d resources registered before the args were refused", n)
			}
		})
	}
}

// routeRecorder is an ingress's Router that only records what it is given.
type routeRecorder struct {
	names []string
	args  []*infra.RouteArgs
}

func (r *routeRecorder) AddRoute(_ *pulumi.Context, name string, ra *infra.RouteArgs, _ ...pulumi.ResourceOption) error {
	r.names, r.args = append(r.names, name), append(r.args, ra)
	return nil
}

// TestSourceAddsItsRouteThroughTheRouter: a Source knows no ingress; it
// hands the Router its spec, its queue's URL and its send role, once.
func TestSourceAddsItsRouteThroughTheRouter(t *testing.T) {
	code, err := harness.StubHandler("")
	if err != nil {
		t.Fatal(err)
	}
	spec := sourceSpec(t, stackSpec(t, loadStack(t, "dev")), "github")
	router := &routeRecorder{}
	mocks := awsmodel.NewMocks(stackconfig.Namespace, "dev", "eu-west-1")
	err = pulumi.RunErr(func(ctx *pulumi.Context) error {
		_, alias, err := infra.NewSealKey(ctx, "hookline-seal", stackSpec(t, loadStack(t, "dev")))
		if err != nil {
			return err
		}
		_, err = infra.NewSource(ctx, "hookline-github", &infra.SourceArgs{Spec: spec, Router: router, Code: code, SealKey: alias,
			ArchiveStream: pulumi.String(spec.Archive.StreamName)})
		return err
	}, pulumi.WithMocks(stackconfig.Namespace, "dev", mocks))
	if err != nil {
		t.Fatal(err)
	}
	if len(router.args) != 1 || router.names[0] != "hookline-github" {
		t.Fatalf("routes added: %v", router.names)
	}
	ra := router.args[0]
	if ra.Source.Name != "github" || ra.SendRoleArn == nil || ra.SendPolicy == nil || ra.AuthorizerID != nil {
		t.Errorf("route args: %+v", ra)
	}
	types := map[string]int{}
	for _, r := range mocks.Registered() {
		types[r.Type]++
	}
	for typ, n := range map[string]int{infra.TypeSource: 1, infra.TypeSourceQueues: 1, infra.TypeConsumer: 1, "aws:sqs/queue:Queue": 2, "aws:lambda/function:Function": 1, "aws:iam/role:Role": 2} {
		if types[typ] != n {
			t.Errorf("%d of %s, want %d", types[typ], typ, n)
		}
	}
}
