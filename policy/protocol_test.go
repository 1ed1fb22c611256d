package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/hookline/hookline/handler/build"
	"github.com/hookline/hookline/internal/testing/fixtures"
	"github.com/hookline/hookline/internal/testing/harness"
	"github.com/hookline/hookline/plan"
	"github.com/hookline/hookline/plan/awsmodel"
)

// startPack builds the pack binary and starts it the way the engine does:
// run it, read the port it prints, dial it.
func startPack(t *testing.T) pulumirpc.AnalyzerClient {
	t.Helper()
	bin := harness.Binary(t, "hookline-policy", build.Spec{Package: "./policy"})
	cmd := exec.Command(bin)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	port, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("the pack printed no port: %v", err)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strings.TrimSpace(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return pulumirpc.NewAnalyzerClient(conn)
}

func marshal(t *testing.T, r awsmodel.Registered) *structpb.Struct {
	t.Helper()
	s, err := plugin.MarshalProperties(r.State, plugin.MarshalOptions{KeepSecrets: true, KeepUnknowns: true, KeepResources: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// connect does what the engine does first: Handshake, then ConfigureStack.
func connect(t *testing.T, client pulumirpc.AnalyzerClient, stack string, dryRun bool) {
	t.Helper()
	ctx := context.Background()
	root := ".."
	if _, err := client.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{RootDirectory: &root}); err != nil {
		t.Fatalf("Handshake: %v", err)
	}
	if _, err := client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{
		Stack: stack, Project: "hookline", DryRun: dryRun,
	}); err != nil {
		t.Fatalf("ConfigureStack: %v", err)
	}
}

type finding struct{ policy, level, urn, message string }

func levelName(l pulumirpc.EnforcementLevel) string {
	return strings.ToLower(l.String())
}

// analyze runs a planned stack through the pack over gRPC, as the engine
// does on a preview: Handshake, ConfigureStack, GetAnalyzerInfo, Analyze per
// resource, AnalyzeStack.
func analyze(t *testing.T, client pulumirpc.AnalyzerClient, res *plan.Result) []finding {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	connect(t, client, res.Stack, true)
	var out []finding
	collect := func(ds []*pulumirpc.AnalyzeDiagnostic) {
		for _, d := range ds {
			_, msg, _ := strings.Cut(d.Message, "\n")
			out = append(out, finding{d.PolicyName, levelName(d.EnforcementLevel), d.Urn, msg})
		}
	}
	var stack []*pulumirpc.AnalyzerResource
	for _, r := range res.Registered {
		if !r.Custom {
			continue
		}
		props := marshal(t, r)
		resp, err := client.Analyze(ctx, &pulumirpc.AnalyzeRequest{Urn: r.URN, Type: r.Type, Name: r.Name, Properties: props})
		if err != nil {
			t.Fatalf("Analyze %s: %v", r.URN, err)
		}
		collect(resp.Diagnostics)
		stack = append(stack, &pulumirpc.AnalyzerResource{Urn: r.URN, Type: r.Type, Name: r.Name, Properties: props, Parent: r.Parent})
	}
	resp, err := client.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: stack})
	if err != nil {
		t.Fatalf("AnalyzeStack: %v", err)
	}
	collect(resp.Diagnostics)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// TestProtocol: the built pack, spoken to over the Analyzer protocol, finds
// exactly what `hookline plan` finds with the same rule functions, for the
// real stacks (nothing) and for every injected violation.
func TestProtocol(t *testing.T) {
	client := startPack(t)
	ctx := context.Background()
	connect(t, client, "dev", false)
	info, err := client.GetAnalyzerInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, p := range info.Policies {
		names[p.Name] = levelName(p.EnforcementLevel)
	}
	for name, want := range map[string]string{
		"fifo-ordering": "mandatory", "dlq-required": "mandatory", "tls-only": "mandatory", "tls-only-coverage": "mandatory",
		"partial-batch-responses": "mandatory", "visibility-timeout": "mandatory", "authorized-methods": "mandatory",
		"max-receive-count": "mandatory", "encryption-at-rest": "advisory", "log-retention": "advisory", "no-receive-route": "advisory",
		"stage-throttling": "mandatory", "throttle-bound": "mandatory", "access-logs": "advisory",
		"archive-protected": "mandatory", "archive-present": "advisory",
	} {
		if names[name] != want {
			t.Errorf("policy %s: level %q, want %q", name, names[name], want)
		}
	}
	if info.Name != "hookline" {
		t.Errorf("pack name %q", info.Name)
	}

	type tcase struct {
		stack   string
		fixture fixtures.Fixture
		noFinds bool
	}
	cases := []tcase{{stack: "dev", noFinds: true}, {stack: "prod", noFinds: true}}
	for _, f := range fixtures.All {
		cases = append(cases, tcase{stack: f.Stack, fixture: f})
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%s", tc.stack, tc.fixture.Name), func(t *testing.T) {
			opts := plan.Options{Dir: "..", Stack: tc.stack, Handler: harness.StubHandler}
			if tc.fixture.Name != "" {
				opts.Transformations = tc.fixture.Transformations()
				raw, err := tc.fixture.StackConfig("..")
				if err != nil {
					t.Fatal(err)
				}
				opts.Config = raw
			}
			res, err := plan.Run(opts)
			if err != nil {
				t.Fatal(err)
			}
			got := analyze(t, client, res)
			var want []finding
			for _, v := range res.Policies {
				want = append(want, finding{v.Policy, v.Level, v.URN, v.Message})
			}
			sort.Slice(want, func(i, j int) bool { return fmt.Sprint(want[i]) < fmt.Sprint(want[j]) })
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("the pack and the plan disagree:\npack: %v\nplan: %v", got, want)
			}
			if tc.noFinds && len(got) != 0 {
				t.Errorf("the real %s stack violates: %v", tc.stack, got)
			}
			if tc.fixture.Rule != "" && !tc.fixture.PreviewOnly && !hasPolicy(got, tc.fixture.Rule) {
				t.Errorf("no %s violation in %v", tc.fixture.Rule, got)
			}
			if tc.fixture.Name == "open-method" {
				// Every method is opened: the pack flags each one, except
				// prod's github route, which declares signature-only auth
				// with a body-signing scheme (prod itself has no findings).
				flagged := map[string]bool{}
				for _, f := range got {
					if f.policy == "authorized-methods" {
						flagged[f.urn[strings.LastIndex(f.urn, "::")+2:]] = true
					}
				}
				for _, m := range []string{"hookline-payments-method", "hookline-vendors-method", "hookline-partners-method", "hookline-internal-method"} {
					if !flagged[m] {
						t.Errorf("open %s not flagged: %v", m, flagged)
					}
				}
				if flagged["hookline-github-method"] {
					t.Error("the declared signature-only github method is flagged")
				}
			}
		})
	}
}

func hasPolicy(fs []finding, name string) bool {
	for _, f := range fs {
		if f.policy == name {
			return true
		}
	}
	return false
}

// TestProtocolConfig: the pack's config schema reaches the rules — a bound
// and an enforcement level set through Configure change the findings.
func TestProtocolConfig(t *testing.T) {
	client := startPack(t)
	res, err := plan.Run(plan.Options{Dir: "..", Stack: "dev", Handler: harness.StubHandler})
	if err != nil {
		t.Fatal(err)
	}
	props, err := structpb.NewStruct(map[string]any{"maxReceiveCount": 4})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	connect(t, client, "dev", false)
	if _, err := client.Configure(ctx, &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: map[string]*pulumirpc.PolicyConfig{
		"max-receive-count": {EnforcementLevel: pulumirpc.EnforcementLevel_ADVISORY, Properties: props},
	}}); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, r := range res.Registered {
		if r.Type != "aws:sqs/queue:Queue" {
			continue
		}
		resp, err := client.Analyze(ctx, &pulumirpc.AnalyzeRequest{Urn: r.URN, Type: r.Type, Name: r.Name, Properties: marshal(t, r)})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range resp.Diagnostics {
			if d.PolicyName == "max-receive-count" && d.EnforcementLevel == pulumirpc.EnforcementLevel_ADVISORY &&
				strings.Contains(d.Message, "between 3 and 4") {
				found++
			}
		}
	}
	if found != 2 {
		t.Errorf("want the 2 dev source queues (maxReceiveCount 5) flagged as advisory, got %d", found)
	}
}
